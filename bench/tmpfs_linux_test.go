package bench

import "syscall"

// onTmpfs reports whether dir is on a tmpfs (or ramfs) file system.
func onTmpfs(dir string) bool {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return false
	}
	return fs.Type == 0x01021994 || fs.Type == 0x858458f6
}
