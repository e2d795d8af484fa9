package pipelines

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

var _ = beamx.Run

func TestMain(m *testing.M) { ptest.Main(m) }

func TestWarm(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	c := beam.Create(s, 1, 2, 3)
	passert.Count(s, c, "n", 3)
	ptest.RunAndValidate(t, p)
}
