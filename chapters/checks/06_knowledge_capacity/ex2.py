OK_FORMAT = True

test = {'name': 'ex2',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex2, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex2, bool) and bool(ex2 == ex2)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex2 must be a parameter count P (one number).'},
                       {'code': ">>> bool(ex2 == int((lambda top: (top['net_bits_int4'] / "
                                "top['net_bits']).groupby(top['n_params']).mean().idxmin())(plateau[plateau['exposures'] "
                                "== plateau['exposures'].max()])))\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'At the highest exposure of the plateau table, average '
                                           'net_bits_int4 / net_bits over replicates for each n_params, and '
                                           'give the n_params whose share kept is smallest.'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
