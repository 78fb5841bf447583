OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex2 must be one number: a slope.'},
                       {'code': '>>> bool(np.isclose(ex2, (lambda c, n: np.polyfit(np.log(c[np.isfinite(c) & '
                                'np.isfinite(n)]), np.log(n[np.isfinite(c) & np.isfinite(n)]), '
                                "1)[0])(np.array(a2.exponents['budgets']), "
                                "np.array(a2.exponents['n_opt_total'])), rtol=1e-6))\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Fit log N_opt against log C over the minima in total counting: '
                                           "a2.exponents['budgets'] and a2.exponents['n_opt_total'] (skip a "
                                           'budget without a minimum).'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
