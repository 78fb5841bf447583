OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'failure_message': 'ex1 must be one number (a difference of two rates).',
                        'hidden': False,
                        'locked': False},
                       {'code': '>>> _b = by_size.iloc[-1]\n'
                                ">>> bool(abs(ex1 - float(_b['exact_match'] - _b['sequence_prob'])) < 1e-9)\n"
                                'True',
                        'failure_message': 'At the largest model (the last row of by_size): its exact match '
                                           'minus its mean product of per-token probabilities.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
