OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex1 must be one number: tokens per parameter.'},
                       {'code': '>>> bool(np.isclose(ex1, co.HOFFMANN_2022.optimal_d(chinchilla_budget) / '
                                'co.HOFFMANN_2022.optimal_n(chinchilla_budget), rtol=1e-3))\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Divide co.HOFFMANN_2022.optimal_d(chinchilla_budget) by '
                                           "co.HOFFMANN_2022.optimal_n(chinchilla_budget): the law's own "
                                           'allocation, not the rule of thumb.'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
