//go:build !linux

package bench

// onTmpfs is only known on Linux.
func onTmpfs(string) bool { return false }
