OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex3 must be one number (a half-width in bits per parameter).'},
                       {'code': ">>> bool(abs(ex3 - max(1 - measured['Q3'].interval[0], "
                                "measured['Q3'].interval[1] - 1)) < 1e-6)\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'The band [1 − h, 1 + h] must hold the whole interval: h is the '
                                           'larger of 1 − (its lower end) and (its upper end) − 1.'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
