OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'failure_message': 'ex1 must be one number (a difference of accuracies).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _n = nets[(nets['n_train'] == nets['n_train'].max()) & (nets['method'] != 'full')]\n"
                                ">>> _c = _n[(_n['budget'] == 'equal-step') & np.isclose(_n['f'], _n['f'].min())]\n"
                                ">>> _m = _c.groupby('method')['test_accuracy'].mean()\n"
                                ">>> bool(abs(ex1 - float(_m['el2n keep-hard'] - _m['random'])) < 1e-9)\n"
                                'True',
                        'failure_message': 'At the largest n_train, the equal-step budget and the smallest f of '
                                           'the pruned networks: mean accuracy of "el2n keep-hard" minus that of '
                                           '"random" (keep-hard minus random, not the other way round).',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
