/* hub.h — internals of the Hugging Face hub client (not public API).
 *
 *   cache.c     the cache layout huggingface_hub uses (folders, refs, snapshot symlinks,
 *               per-blob lock files), resolving `--model` arguments, listing the cache
 *   manifest.c  the JSON the hub and the repos send: the model-info API response
 *               (`sha`, `siblings`), config.json `architectures`, the shard index
 *   hub.c       the HTTP protocol (HEAD for metadata, GET with redirects and Range) and pull
 */
#ifndef FR_HUB_H
#define FR_HUB_H

#include "base/base.h"

// ---- cache (cache.c) ----
// The cache root from the override or the environment (HF_HUB_CACHE, ...). OUT: *out, malloc'd.
int fr__hub_cache_dir(const char *override, char **out, fr_error *err);
// "CACHE/models--ORG--NAME", malloc'd (NULL on OOM).
char *fr__hub_repo_dir(const char *cache, const char *repo_id);
// 1 when `s` is 40 lowercase hex digits (a commit hash, as huggingface_hub's REGEX_COMMIT_HASH).
int fr__hub_is_commit(const char *s);
// 1 when repo_id is "NAME" or "ORG/NAME" with the characters the hub allows, no "--"/"..".
int fr__hub_valid_repo_id(const char *repo_id);
// 1 when a repo-relative path from the network is safe to use below snapshots/COMMIT/
// (no absolute path, no "." / ".." / empty component, no backslash or control character).
int fr__hub_valid_relpath(const char *path);
// mkdir -p. 0 or FR_EIO / FR_ENOSPC with the path in the message.
int fr__hub_mkdirs(const char *path, fr_error *err);
// refs/REVISION → commit; a commit revision is returned as is. OUT: commit (41 bytes).
// FR_ENOTFOUND when there is no such ref.
int fr__hub_read_ref(const char *repo_dir, const char *revision, char commit[41]);
// Writes refs/REVISION = commit atomically (temporary file + rename), as huggingface_hub
// does (no trailing newline). Nothing to do when revision is the commit itself.
int fr__hub_write_ref(const char *repo_dir, const char *revision, const char *commit,
                      fr_error *err);
// snapshots/COMMIT/FILE → ../../blobs/ETAG (relative, as os.path.relpath makes it), created
// under a temporary name and renamed over, so concurrent writers never see a missing link.
int fr__hub_link(const char *repo_dir, const char *commit, const char *file, const char *etag,
                 fr_error *err);
// Exclusive flock() on CACHE/.locks/models--ORG--NAME/ETAG.lock — the same file and lock
// kind as huggingface_hub's FileLock, so Python and finerank exclude each other.
// OUT: *fd; release with fr__hub_unlock.
int fr__hub_lock(const char *cache, const char *repo_id, const char *etag, int *fd,
                 fr_error *err);
void fr__hub_unlock(int fd);

// ---- manifest (manifest.c) ----
// /api/models/REPO/revision/REV response: `sha` (a commit) and `siblings[].rfilename`.
// Unsafe file names are skipped. OUT: commit, *files (free with fr__hub_strv_free), *n.
int fr__hub_parse_info(const char *json, size_t len, char commit[41], char ***files, size_t *n,
                       fr_error *err);
// config.json: 0 when its `architectures` (or, without them, its `model_type`) is one the
// engine runs; FR_EUNSUPPORTED naming the architecture otherwise.
int fr__hub_check_config(const char *json, size_t len, fr_error *err);
// model.safetensors.index.json: the distinct shard files of `weight_map`, in first-seen order.
int fr__hub_parse_shards(const char *json, size_t len, char ***files, size_t *n, fr_error *err);
void fr__hub_strv_free(char **v, size_t n);

#endif
