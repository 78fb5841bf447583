OK_FORMAT = True

test = {'name': 'ex3',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex3, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex3, bool) and bool(ex3 == ex3)\n'
                                'True',
                        'failure_message': 'ex3 must be one number (a position lambda).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _p, _r = (np.log(point[k]) for k in ('predicted_power', 'predicted_loglin'))\n"
                                ">>> _f = np.log(saturating['predicted'])\n"
                                '>>> bool(abs(ex3 - float(np.sum(_f - _p) / np.sum(_r - _p))) < 1e-9)\n'
                                'True',
                        'failure_message': "Use the saturating law's log predictions where lambda uses the log "
                                           "observed losses: their sum of differences from the power law's log "
                                           "predictions over the same sum for the log-linear rival's. Keep the "
                                           'order of the differences: the sign is the answer.',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
