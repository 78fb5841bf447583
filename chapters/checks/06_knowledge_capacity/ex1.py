OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'ex1 must be one number: the mean over replicates of the fitted '
                                           'slopes.'},
                       {'code': '>>> bool(abs(ex1 - float(kc.capacity_slopes(table, '
                                "column='n_params').mean())) < 1e-3)\n"
                                'True',
                        'hidden': False,
                        'locked': False,
                        'failure_message': 'Fit log(net bits at the peak) against log(all parameters P) for '
                                           'each replicate of kc.peak_table(table), then average the slopes. '
                                           "(Non-embedding parameters give the rival counting's slope, not "
                                           'this one.)'}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
