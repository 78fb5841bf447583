OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'failure_message': 'ex3 must be one number (a difference of gains).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _h = budgets[(budgets['method'] == 'el2n keep-hard') & "
                                "(budgets['n_train'] == budgets['n_train'].max())]\n"
                                ">>> _g = _h[np.isclose(_h['f'], _h['f'].min())].set_index('budget')['gain']\n"
                                ">>> bool(abs(ex3 - float(_g['equal-step'] - _g['equal-epoch'])) < 1e-9)\n"
                                'True',
                        'failure_message': 'For el2n keep-hard at the largest n_train and smallest f, take the '
                                           'gain at equal steps minus the gain at equal epochs.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
