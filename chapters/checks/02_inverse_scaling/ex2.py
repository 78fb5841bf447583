OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'failure_message': 'ex2 must be one number (a share of items).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _t = items[(items['test'] == 'conflict') & (items['R'] == R_mid)]\n"
                                ">>> bool(abs(ex2 - float(_t[_t['N'] == _t['N'].max()]['correct'].mean())) < "
                                '1e-9)\n'
                                'True',
                        'failure_message': 'Keep the conflict items at the middle dose, then the largest N, '
                                           "and average 'correct' over its items and replicates.",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
