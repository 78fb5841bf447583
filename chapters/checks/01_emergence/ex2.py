OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'failure_message': 'ex2 must be one number (a ratio of two emergence scores).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _f = 1 / settings['n_test']\n"
                                ">>> _r = em.emergence_score(N, by_size['exact_match'], _f) / "
                                "em.emergence_score(N, by_size['edit_similarity'], _f)\n"
                                '>>> bool(abs(ex2 - float(_r)) < 1e-9 * max(1.0, abs(float(_r))))\n'
                                'True',
                        'failure_message': 'The emergence score of exact match divided by that of edit '
                                           'similarity, both from em.emergence_score(N, y, resolution) on '
                                           "the means over seeds, with resolution = 1 / settings['n_test'].",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
