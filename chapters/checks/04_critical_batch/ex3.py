OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex3 must be one number: a slope.'},
                       {'code': ">>> bool(np.isclose(ex3, (lambda f: np.polyfit(np.log(f['held-out "
                                "target']), np.log(f['B_crit']), "
                                "1)[0])(fit_table[np.isfinite(fit_table['B_crit']) & (fit_table['B_crit'] > "
                                '0)]), rtol=1e-6))\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Fit log B_crit against log L, the held-out loss target itself '
                                           "(column 'held-out target'), not against the excess over the "
                                           'Bayes loss (leave out a target without a fitted B_crit).'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
