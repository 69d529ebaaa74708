/* safetensors.h — reader for Hugging Face safetensors checkpoints (single file or sharded).
 *
 * Format (https://github.com/huggingface/safetensors, README "Format"):
 *   bytes [0, 8)         N, the header length, unsigned 64-bit little endian
 *   bytes [8, 8+N)       UTF-8 JSON object: {"<tensor name>": {"dtype": "F32", "shape": [d0, ...],
 *                        "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
 *   bytes [8+N, EOF)     the data section; offsets are relative to its start, tensors are
 *                        row-major little endian, packed with no gaps or overlaps and together
 *                        cover the whole data section.
 * A sharded checkpoint is model.safetensors.index.json ({"weight_map": {name: shard file}})
 * plus the shard files in the same directory.
 *
 * Validation is strict (this is untrusted input): header length within the file, JSON with no
 * duplicate keys, known dtype, shape × element size == byte length without overflow, offsets
 * inside the data section, contiguous and non-overlapping. Errors name the file, the tensor and
 * the problem. Files are mmapped read-only; tensors point into the mappings.
 */
#ifndef FR_MODEL_SAFETENSORS_H
#define FR_MODEL_SAFETENSORS_H

#include "base/base.h"

#define FR__ST_MAX_DIMS 8

typedef enum {
    FR__DT_F32, FR__DT_F16, FR__DT_BF16, FR__DT_F64, FR__DT_I64, FR__DT_I32, FR__DT_I16,
    FR__DT_I8, FR__DT_U8, FR__DT_U16, FR__DT_U32, FR__DT_U64, FR__DT_BOOL, FR__DT_F8_E4M3,
    FR__DT_F8_E5M2, FR__DT_COUNT
} fr__st_dtype;

typedef struct fr__st_tensor {
    char *name;                      // owned
    fr__st_dtype dtype;
    int ndim;
    size_t shape[FR__ST_MAX_DIMS];
    size_t nelem;
    size_t nbytes;
    const uint8_t *data;             // into the file mapping (may be unaligned)
    const char *file;                // base name of the file holding it (owned by fr__st)
} fr__st_tensor;

typedef struct fr__st {
    fr__st_tensor *t;                // sorted by name
    size_t n;
    fr__mmap *maps;                  // one per file
    char **files;                    // base names, parallel to maps
    size_t n_files;
} fr__st;

const char *fr__st_dtype_name(fr__st_dtype dt);
size_t fr__st_dtype_size(fr__st_dtype dt);

// Parses one safetensors image. OUT: *tensors (malloc'd array, names owned; free with
// fr__st_tensors_free), *n. Tensor data pointers point into buf, which must outlive them.
// `file` names the file in error messages and is stored (not copied) in each tensor.
int fr__st_parse(const uint8_t *buf, size_t len, const char *file, fr__st_tensor **tensors,
                 size_t *n, fr_error *err);
void fr__st_tensors_free(fr__st_tensor *t, size_t n);

// Opens dir/model.safetensors, or dir/model.safetensors.index.json and its shards.
// OUT: *st (zero it first); release with fr__st_close (safe on a zeroed struct).
int fr__st_open(const char *dir, fr__st *st, fr_error *err);
void fr__st_close(fr__st *st);

// Looks a tensor up by exact name; NULL when absent.
const fr__st_tensor *fr__st_get(const fr__st *st, const char *name);

// Converts a tensor to float32. F32 is copied, F16/BF16 widened exactly.
// OUT: dst must hold t->nelem floats. FR_EUNSUPPORTED for other dtypes.
int fr__st_to_f32(const fr__st_tensor *t, float *dst, fr_error *err);

#endif
