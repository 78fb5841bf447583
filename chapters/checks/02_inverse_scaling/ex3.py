OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'failure_message': 'ex3 must be one number (a difference of losses in nats).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _c = inverse_scaling.size_curve(imitation, 'task', top_share, "
                                "column='share')\n"
                                ">>> bool(abs(ex3 - float(_c['loss'].iloc[-1] - imitator[top_share])) < "
                                '1e-9)\n'
                                'True',
                        'failure_message': "The largest model's seed-mean task loss at the top share minus "
                                           "the perfect imitator's loss at that share.",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
