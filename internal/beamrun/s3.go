package beamrun

import "github.com/eosinlab/eosin/shards/storage"

// S3Settings are the non-secret S3 settings that travel to workers inside a pipeline's
// DoFns (credentials come from each worker's environment).
type S3Settings struct {
	Endpoint string `json:"endpoint,omitempty"`
	Region   string `json:"region,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	CABundle string `json:"ca_bundle,omitempty"`
}

// Config returns the storage configuration of the settings.
func (s S3Settings) Config() storage.S3Config {
	return storage.S3Config{Endpoint: s.Endpoint, Region: s.Region, Insecure: s.Insecure, CABundle: s.CABundle}
}
