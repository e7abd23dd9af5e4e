package main

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"time"
)

// layerTar writes entries as an uncompressed tar in PAX format, every
// timestamp set to mtime and nothing taken from the build machine (owner
// names, access times, umask), so the same inputs give the same bytes. A
// file's extended attributes become PAX records "SCHILY.xattr.<name>", the
// form container runtimes restore them from.
func layerTar(files []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    f.path,
			Mode:    int64(f.mode.Perm()),
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: mtime.UTC().Truncate(time.Second),
			Format:  tar.FormatPAX,
		}
		if f.mode&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		if f.mode.IsDir() {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.data))
		}
		if len(f.xattrs) > 0 {
			// archive/tar writes the records sorted by key.
			hdr.PAXRecords = make(map[string]string, len(f.xattrs))
			for name, value := range f.xattrs {
				hdr.PAXRecords["SCHILY.xattr."+name] = string(value)
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
