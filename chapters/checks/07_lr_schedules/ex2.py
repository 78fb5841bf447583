OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'failure_message': 'ex2 must be one number (a share of training steps).',
                        'hidden': False,
                        'locked': False},
                       {'code': '>>> _h = ls.horizons(settings)\n'
                                ">>> _c = sum(h - ls.cooldown_start(h, settings['cooldown_fraction']) for h "
                                'in _h)\n'
                                '>>> bool(abs(ex2 - (max(_h) + _c) / sum(_h)) < 1e-9)\n'
                                'True',
                        'failure_message': 'Count the trunk once (the longest horizon) plus one cooldown per '
                                           'horizon, and divide by the sum of the horizons. Count one '
                                           'cooldown shape, not two.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
