OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'failure_message': 'ex1 must be one number (K1\'s statistic lambda).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _o, _p, _r = (np.log(point[k]) for k in ('observed', 'predicted_power', "
                                "'predicted_loglin'))\n"
                                '>>> bool(abs(ex1 - float(np.sum(_o - _p) / np.sum(_r - _p))) < 1e-9)\n'
                                'True',
                        'failure_message': 'Sum, over the held-out sizes, the log observed loss minus the log of '
                                           "the power law's prediction, and divide by the same sum for the "
                                           "log-linear rival's prediction. Take logs of the losses first: the "
                                           'statistic is defined in log loss.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
