// Package version reports the version of the running eosin binary: its module version when
// built from a tagged module, else the VCS revision it was built from.
package version

import "runtime/debug"

// String is the program's version: its module version, else the first 12 digits of its VCS
// revision, else "(devel)". Build manifests record the same string.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	rev := ""
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			rev = s.Value
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev
}
