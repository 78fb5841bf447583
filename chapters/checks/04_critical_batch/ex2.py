OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex2 must be one number: a ratio of examples.'},
                       {'code': ">>> bool(np.isclose(ex2, (lambda s: float(s['E'].iloc[-1] / "
                                "s['E'].iloc[0]))(steps[steps['excess target'] == steps['excess "
                                "target'].max()].sort_values('B')), rtol=1e-6))\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'At the easiest target (the largest excess), divide the examples '
                                           'E = B·S at the largest batch size by those at the smallest: '
                                           'examples, not steps.'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
