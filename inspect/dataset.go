package inspect

import (
	"context"
	"errors"
)

// OpenDataset opens a committed dataset version (PREFIX or PREFIX@VERSION).
func OpenDataset(ctx context.Context, arg string) (Source, error) {
	return nil, errors.New("reading committed dataset versions is not supported yet")
}
