// Package atomicfile writes a file through a temporary file in the same
// folder and renames it into place, so that readers, and a crash, see the
// previous file or the complete new one, never a partial write.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates path with what write puts out. On any error the temporary
// file is removed and path is left as it was.
func Write(path string, write func(io.Writer) error) (err error) {
	// The rename is only atomic within one file system, hence the same
	// folder; the dot keeps the temporary out of globs such as *.csv.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// CreateTemp makes files 0600; reports are for others to read too.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	// Without the sync a power cut after the rename can leave an empty
	// file under the final name.
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
