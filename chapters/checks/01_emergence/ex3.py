OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'failure_message': 'ex3 must be one number (an exponent).',
                        'hidden': False,
                        'locked': False},
                       {'code': '>>> bool(abs(ex3 + float(np.polyfit(np.log(N), '
                                "np.log(by_size['token_log_loss']), 1)[0])) < 1e-9)\n"
                                'True',
                        'failure_message': 'Fit log(loss) against log(N), both in logs, and give minus the '
                                           'slope.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
