OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex1 must be one number: a batch size.'},
                       {'code': '>>> bool(np.isclose(ex1, np.sqrt(cost_ratio * '
                                "float(fit_table['B_crit'].iloc[-1])), rtol=1e-3))\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Minimise S_min (1 + B_crit/B)(a + bB) over B: set the derivative '
                                           "to zero, with a/b = cost_ratio and the hardest target's B_crit "
                                           '(the last row of fit_table).'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
