"""The benchmark's sections: one module each, with a ``run(config, results) -> record``.

Deliberately empty (the registry is ``benchmarks.registry``): the children started as
``python -m benchmarks.sections.<module>`` must import nothing they do not use.
"""
