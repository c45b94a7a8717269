"""A sample pipeline plugin: download → convert → train on a small generated dataset.

Its actions are the entrypoints of the documented Complete Example
(`plugin.download.DownloadAction`, `plugin.convert.ConvertAction`, `plugin.train.TrainAction`)
and of `pipeline-service demo`. They only use the standard library.
"""
