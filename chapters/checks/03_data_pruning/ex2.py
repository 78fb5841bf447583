OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'failure_message': 'ex2 must be one number (a difference of accuracies).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _a = nets[nets['method'] == 'full'].groupby('n_train')['test_accuracy'].mean()\n"
                                '>>> bool(abs(ex2 - float(_a.iloc[-1] - _a.iloc[0])) < 1e-9)\n'
                                'True',
                        'failure_message': 'Average the accuracy of the all-data networks per initial training '
                                           'set size, then take the largest size minus the smallest.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
