package trainer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
)

// Checkpoint layout (a directory):
//
//	config.json, model.safetensors      the policy in Hugging Face form (F32, exact; decoder
//	                                    and, for VL models, visual.* tower tensors)
//	preprocessor_config.json            the image processor (VL models)
//	optimizer.safetensors               AdamW moments: exp_avg.<name>, exp_avg_sq.<name>
//	ref/                                the frozen reference model (only with KL)
//	trainer_state.json                  steps, RNG state, data position
const (
	stateName     = "trainer_state.json"
	optimizerName = "optimizer.safetensors"
)

type trainerState struct {
	Step     int    `json:"step"`
	OptStep  int    `json:"opt_step"`
	RNG      []byte `json:"rng"`
	DataPos  int    `json:"data_pos"`
	DataSeed uint64 `json:"data_seed"`
	NumTasks int    `json:"num_tasks"`
	// Precision is fp32 or bf16 (absent in older checkpoints: fp32).
	Precision string `json:"precision,omitempty"`
}

// SaveModel writes config.json and the weights (dtype dt) of params into dir.
func SaveModel(dir string, p *model.Params[float32], dt safetensors.DType) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	ts, err := p.SafeTensors(dt)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := safetensors.WriteDir(dir, ts, 4<<30); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	cfg := p.Cfg
	cfg.TorchDtype = map[safetensors.DType]string{safetensors.F32: "float32", safetensors.BF16: "bfloat16", safetensors.F16: "float16"}[dt]
	if err := model.WriteConfig(filepath.Join(dir, "config.json"), &cfg); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// LoadModel reads config.json and the safetensors weights of a Hugging Face checkpoint dir.
func LoadModel(dir string) (*model.Params[float32], error) {
	cfg, err := model.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	ts, err := safetensors.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	p := model.NewParams[float32](*cfg)
	if err := p.LoadTensors(ts); err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	return p, nil
}

// Save writes a checkpoint from which Load continues identically: the policy as a Hugging
// Face checkpoint in F32 (the master weights in bf16 mixed precision; a VL policy adds
// preprocessor_config.json), the AdamW moments, the reference model with KL, and the
// counters, RNG state and data position. It writes dir.tmp and renames it, so a killed run
// leaves the previous checkpoints intact.
func (t *Trainer) Save(dir string) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := t.Policy.Export(tmp, safetensors.F32); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if t.Ref != nil {
		if err := t.Ref.Export(filepath.Join(tmp, "ref"), safetensors.F32); err != nil {
			return fmt.Errorf("save checkpoint: reference: %w", err)
		}
	}
	opt, err := t.Policy.OptimizerState()
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, optimizerName), opt, map[string]string{"optimizer": "adamw"}); err != nil {
		return fmt.Errorf("save optimizer: %w", err)
	}
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save rng: %w", err)
	}
	st := trainerState{Step: t.StepN, OptStep: t.OptStep, RNG: rng, DataPos: t.Data.Pos, DataSeed: t.Data.Seed, NumTasks: len(t.Data.Tasks),
		Precision: t.Cfg.precision()}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, stateName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// IsCheckpoint reports whether dir holds a trainer checkpoint.
func IsCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, stateName))
	return err == nil
}

// Load restores weights, optimizer moments, counters, RNG and data position from a checkpoint
// written by Save. The trainer must have been built with the same configuration and tasks.
func (t *Trainer) Load(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("load checkpoint %s: %w", stateName, err)
	}
	if st.NumTasks != len(t.Data.Tasks) || st.DataSeed != t.Data.Seed {
		return fmt.Errorf("load checkpoint: saved with %d tasks (seed %d), now %d tasks (seed %d)", st.NumTasks, st.DataSeed, len(t.Data.Tasks), t.Data.Seed)
	}
	if p := t.Cfg.precision(); st.Precision != "" && st.Precision != p {
		return fmt.Errorf("load checkpoint: saved in %s precision, the run is %s", st.Precision, p)
	}
	if err := t.Policy.LoadWeights(dir); err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	if t.Ref != nil {
		if err := t.Ref.LoadWeights(filepath.Join(dir, "ref")); err != nil {
			return fmt.Errorf("load checkpoint: reference: %w", err)
		}
	}
	ts, _, err := safetensors.ReadFile(filepath.Join(dir, optimizerName))
	if err != nil {
		return fmt.Errorf("load optimizer: %w", err)
	}
	byName := map[string]*safetensors.Tensor{}
	for _, tn := range ts {
		byName[tn.Name] = tn
	}
	if err := t.Policy.LoadOptimizerState(byName); err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	if err := t.pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("load rng: %w", err)
	}
	t.Data.Pos = st.DataPos
	t.StepN, t.OptStep = st.Step, st.OptStep
	return nil
}
