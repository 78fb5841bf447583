OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'failure_message': 'ex2 must be one number (the exponent alpha).',
                        'hidden': False,
                        'locked': False},
                       {'code': '>>> _m = window_losses.mean(axis=(0, 2))\n'
                                '>>> _k = slice(None, -power_laws.HELD_OUT)\n'
                                '>>> bool(abs(ex2 + float(np.polyfit(np.log(n_params[_k]), np.log(_m[_k]), 1)[0])) '
                                '< 1e-9)\n'
                                'True',
                        'failure_message': 'Fit log(mean loss) against log(N) on the fitted sizes only (leave out '
                                           'the power_laws.HELD_OUT largest), and give minus the slope.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
