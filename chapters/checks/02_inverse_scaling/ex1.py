OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'failure_message': 'ex1 must be one number (a slope in nats per decade).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _c = inverse_scaling.size_curve(items, 'conflict', R_mid)\n"
                                ">>> bool(abs(ex1 - float(np.polyfit(np.log10(_c['N']), _c['loss'], 1)[0])) "
                                '< 1e-9)\n'
                                'True',
                        'failure_message': 'Fit the seed-mean conflict loss against log10(N) (a decade is a '
                                           'factor of ten) and give the slope.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
