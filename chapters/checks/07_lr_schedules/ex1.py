OK_FORMAT = True

test = {'name': 'ex1',
 'points': 1,
 'suites': [{'cases': [{'code': '>>> isinstance(ex1, (int, float, np.integer, np.floating)) and not '
                                'isinstance(ex1, bool) and bool(ex1 == ex1)\n'
                                'True',
                        'failure_message': 'ex1 must be one number (a relative difference).',
                        'hidden': False,
                        'locked': False},
                       {'code': ">>> _p = finals[finals['horizon'] == "
                                "finals['horizon'].max()].pivot_table(index=['replicate', 'd_model'], "
                                "columns='arm', values='val_loss')\n"
                                ">>> bool(abs(ex1 - float(((_p['wsd-sqrt'] - _p['cosine']) / "
                                "_p['cosine']).mean())) < 1e-6)\n"
                                'True',
                        'failure_message': "Divide WSD's final loss minus cosine's by cosine's, at the "
                                           'longest horizon, for every replicate and size, then average. (A '
                                           "difference in nats, not divided by cosine's loss, is another "
                                           'number.)',
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
