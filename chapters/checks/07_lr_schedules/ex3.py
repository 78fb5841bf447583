OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'failure_message': 'ex3 must be one number (a ratio of two areas).',
                        'hidden': False,
                        'locked': False},
                       {'code': '>>> _h = max(ls.horizons(settings))\n'
                                ">>> bool(abs(ex3 - ls.schedule_of(settings, 'cosine', _h, 1.0).sum() / "
                                "ls.schedule_of(settings, 'constant', _h, 1.0).sum()) < 1e-9)\n"
                                'True',
                        'failure_message': "Sum the cosine schedule's rates over every step (warm-up "
                                           "included) and divide by the constant schedule's sum at the same "
                                           'horizon.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
