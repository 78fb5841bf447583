OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex3 must be one number: an exponent.'},
                       {'code': '>>> bool(np.isclose(ex3, co.reconciled_exponents(co.BESIROGLU_2024, '
                                "co.PEARCE_SONG_K, range_nonemb=bias_decade)['nonemb'], rtol=1e-6))\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Call co.reconciled_exponents(co.BESIROGLU_2024, '
                                           'co.PEARCE_SONG_K, range_nonemb=bias_decade) and take the '
                                           "non-embedding exponent ('nonemb')."}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
