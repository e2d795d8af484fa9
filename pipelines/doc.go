package pipelines
