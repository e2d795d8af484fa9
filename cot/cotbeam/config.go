// Package cotbeam runs the chain-of-thought generation of package cot as an Apache Beam
// pipeline: figures are read from a committed figure dataset (or an `eosin extract`
// directory), spread over workers, sent to the model server in concurrent batches, verified,
// deduplicated across the whole dataset with MinHash LSH, and written as SFT and RL dataset
// versions through package shards (many workers write shards, one step commits).
//
// It runs on the runners of `eosin build` (package internal/beamrun): prism in this process by
// default, a portable job server (Flink, Spark, standalone prism), or Dataflow.
package cotbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// S3Settings are the non-secret S3 settings that travel to workers.
type S3Settings = beamrun.S3Settings

// GenConfig is what a worker needs to build the generator client and the cot.Pipeline. It is
// JSON-serialised into the pipeline, so it holds no secrets (the API key is read from the
// environment variable APIKeyEnv on each worker) and no local-only state.
type GenConfig struct {
	// Client.
	BaseURL     string        `json:"base_url"`
	APIKeyEnv   string        `json:"api_key_env,omitempty"`
	Concurrency int           `json:"concurrency,omitempty"` // requests in flight per worker process
	Timeout     time.Duration `json:"timeout,omitempty"`
	MaxAttempts int           `json:"max_attempts,omitempty"`
	// MaxResponseBytes bounds one response body (default cot.DefaultMaxResponseBytes).
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
	// Cache is the response cache: a directory or s3://bucket/prefix, shared by all workers
	// ("" disables it). A directory only works for workers that share its filesystem.
	Cache string `json:"cache,omitempty"`
	// Refresh ignores cached responses (they are replaced by the new ones).
	Refresh bool `json:"refresh,omitempty"`

	// Generation and verification (see cot.Config).
	Model                string            `json:"model"`
	Tasks                []cot.TaskSpec    `json:"tasks"`
	Temperature          float64           `json:"temperature"`
	TopP                 float64           `json:"top_p,omitempty"`
	MaxTokens            int               `json:"max_tokens,omitempty"`
	Options              int               `json:"options,omitempty"`
	Turns                int               `json:"turns,omitempty"`
	Judge                bool              `json:"judge,omitempty"`
	Agreement            int               `json:"agreement,omitempty"`
	AgreementTemperature float64           `json:"agreement_temperature,omitempty"`
	MinSupport           float64           `json:"min_support,omitempty"`
	LengthSlack          float64           `json:"length_slack,omitempty"`
	MaxRepetition        float64           `json:"max_repetition,omitempty"`
	MinReward            float64           `json:"min_reward,omitempty"`
	Reward               reward.Config     `json:"reward"`
	Templates            map[string]string `json:"templates,omitempty"` // sources; missing: built-ins
}

// pipeline builds the cot.Pipeline of the configuration on gen.
func (g GenConfig) pipeline(gen cot.Generator) (*cot.Pipeline, error) {
	scorer, err := reward.FromConfig(g.Reward)
	if err != nil {
		return nil, err
	}
	tpl, err := cot.ParseTemplates(g.Templates)
	if err != nil {
		return nil, err
	}
	return cot.NewPipeline(gen, cot.Config{Model: g.Model, Tasks: g.Tasks, Temperature: g.Temperature, TopP: g.TopP,
		MaxTokens: g.MaxTokens, Options: g.Options, Turns: g.Turns, Judge: g.Judge, Agreement: g.Agreement,
		AgreementTemperature: g.AgreementTemperature, MinSupport: g.MinSupport, LengthSlack: g.LengthSlack,
		MaxRepetition: g.MaxRepetition, Scorer: scorer, MinReward: g.MinReward, Templates: tpl})
}

// Config configures a run.
type Config struct {
	// Pairs is the figure dataset PREFIX[@VERSION] (local or s3://) or an `eosin extract`
	// output directory.
	Pairs string
	// Out is the output prefix: SFT samples go to Out/sft, RL samples to Out/rl.
	Out string
	// Version names the new versions of both datasets, as it is: it fails when the version
	// is committed or reserved by a run still alive (see cot.Reserve). Default: the UTC
	// time, with a suffix (-2, -3, …) when another run took that name.
	Version string
	// Formats are the shard formats (default WebDataset and Parquet).
	Formats []shards.Format
	// SamplesPerShard is the target number of samples per shard (default 1000).
	SamplesPerShard int
	// Batch is the number of figures a worker keeps in flight at once (default 2 ×
	// Gen.Concurrency): requests of many figures are batched over the client's connections.
	Batch int
	// DedupThreshold is the MinHash similarity of question + answer from which a sample is a
	// near duplicate of a sample with a smaller id (default 0.8; negative: off).
	DedupThreshold float64
	// Gen configures generation and verification.
	Gen GenConfig
	// NoCheck skips the check of the generator before the run (cot.CheckGenerator), for a
	// server that only the workers can reach.
	NoCheck bool
	// S3 configures s3:// locations (pairs, output, cache).
	S3 S3Settings
	// Beam says where the pipeline runs (runner, endpoint, environment, worker binary, job
	// name, further Beam options, progress). Namespace and ProgressLine are set by Run.
	Beam beamrun.Options
}

func (c *Config) defaults() error {
	if c.Pairs == "" {
		return fmt.Errorf("cot: no figure pairs (--pairs)")
	}
	if c.Out == "" {
		return fmt.Errorf("cot: no output prefix (--out)")
	}
	if len(c.Formats) == 0 {
		c.Formats = []shards.Format{shards.WebDataset, shards.Parquet}
	}
	if c.SamplesPerShard <= 0 {
		c.SamplesPerShard = 1000
	}
	if c.Gen.Concurrency <= 0 {
		c.Gen.Concurrency = 16
	}
	if c.Batch <= 0 {
		c.Batch = 2 * c.Gen.Concurrency
	}
	if c.DedupThreshold == 0 {
		c.DedupThreshold = 0.8
	}
	if c.Gen.BaseURL == "" {
		return fmt.Errorf("cot: no generator URL")
	}
	if c.Gen.Model == "" {
		return fmt.Errorf("cot: no model name")
	}
	if c.Version == "" {
		c.Version = time.Now().UTC().Format("20060102T150405Z")
	}
	if err := shards.ValidVersion(c.Version); err != nil {
		return err
	}
	if err := c.Beam.Validate(); err != nil {
		return err
	}
	// Fail here, not on a worker, when the generation settings are unusable.
	if _, err := c.Gen.pipeline(nopGen{}); err != nil {
		return err
	}
	return nil
}

type nopGen struct{}

func (nopGen) Complete(context.Context, *cot.ChatRequest) (*cot.ChatResponse, error) {
	return nil, fmt.Errorf("no generator")
}

// sharedClients holds one generator client per configuration in a worker process, so that
// Concurrency bounds the requests in flight of the whole process (a runner runs several
// bundles, each with its own DoFn instance, at once) and connections are reused. This is the
// one process-wide state of the package: entries are counted and closed with their last user.
var sharedClients = struct {
	mu sync.Mutex
	m  map[string]*sharedClient
}{m: map[string]*sharedClient{}}

type sharedClient struct {
	c    *cot.Client
	refs int
}

// acquireClient returns the process's client for g and its release function.
func acquireClient(g GenConfig, s3 S3Settings) (*cot.Client, func(), error) {
	b, err := json.Marshal(struct {
		G  GenConfig
		S3 S3Settings
	}{g, s3})
	if err != nil {
		return nil, nil, err
	}
	key := string(b)
	sharedClients.mu.Lock()
	defer sharedClients.mu.Unlock()
	e := sharedClients.m[key]
	if e == nil {
		c, err := cot.NewClient(cot.ClientConfig{BaseURL: g.BaseURL, APIKeyEnv: g.APIKeyEnv, Concurrency: g.Concurrency,
			Timeout: g.Timeout, MaxAttempts: g.MaxAttempts, MaxResponseBytes: g.MaxResponseBytes, CacheDir: g.Cache, CacheS3: s3.Config(), Refresh: g.Refresh})
		if err != nil {
			return nil, nil, err
		}
		e = &sharedClient{c: c}
		sharedClients.m[key] = e
	}
	e.refs++
	var once sync.Once
	return e.c, func() {
		once.Do(func() {
			sharedClients.mu.Lock()
			defer sharedClients.mu.Unlock()
			if e.refs--; e.refs == 0 {
				delete(sharedClients.m, key)
				e.c.Close()
			}
		})
	}, nil
}
