// pathgen-codecs: JPEG and JPEG 2000 tile decoding for slide reading, as a Node-API addon.
//
// Why native: libvips (through sharp) costs more to set up per call than a 240-px tile costs to
// decode. This calls libjpeg(-turbo) and OpenJPEG the way OpenSlide does (JPEG tables read first,
// the colour space forced from the container, every libjpeg warning fatal; OpenJPEG components
// unpacked and YCbCr converted with OpenSlide's tables), so pixels equal OpenSlide's. A batch of
// tiles is decoded off the JS thread into a buffer the caller allocated, on threads of our own (libuv's
// pool is fixed at 4 once Node starts, and fs and sharp share it); JS decides how many batches run at
// once, which is the reader's `threads`.
#include <node_api.h>
#include <openjpeg.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <math.h>

// Tiles per batch: the JS side splits larger reads; this only bounds a bad argument.
#define MAX_TILES 65536

enum codec { CODEC_JPEG = 0, CODEC_J2K = 1 };
// JPEG: how the components are read. AUTO lets libjpeg guess from the markers (DICOM frames).
enum colour { COLOUR_AUTO = 0, COLOUR_RGB = 1, COLOUR_YCBCR = 2 };

typedef struct batch {
  enum codec codec;
  enum colour colour;
  int width, height;  // expected size of each decoded tile (after scaling)
  int scale_denom;    // JPEG only: 1, 2, 4 or 8 (libjpeg's DCT-domain scaling)
  int count;
  const uint8_t **data;
  size_t *length;
  const uint8_t *tables;
  size_t tables_length;
  uint8_t **outs;  // one tile-sized buffer per tile
  // Optional: where each decoded tile also goes, while it is still in the CPU's cache.
  uint8_t *region;
  int region_width, region_height, clip_right, clip_bottom;
  const int32_t *origins;
  napi_ref region_ref, origins_ref;
  int failed_index;
  char message[JMSG_LENGTH_MAX + 64];
  napi_ref refs;  // keeps the input array (and so every buffer) alive while decoding
  napi_ref out_ref;
  napi_ref tables_ref;
  napi_ref callback;
  struct batch *next;
} batch;

// ---- JPEG -------------------------------------------------------------------------------------

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf env;
  char message[JMSG_LENGTH_MAX];
} strict_errors;

static void fail_exit(j_common_ptr cinfo) {
  strict_errors *errors = (strict_errors *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, errors->message);
  longjmp(errors->env, 1);
}

// A warning (corrupt data, premature end) fails the tile: grey blocks are never pixels.
static void emit_strict(j_common_ptr cinfo, int level) {
  if (level < 0) fail_exit(cinfo);
}

static void silent(j_common_ptr cinfo) { (void)cinfo; }

static int decode_jpeg(batch *b, int i, uint8_t *dest) {
  struct jpeg_decompress_struct cinfo;
  strict_errors errors;
  JSAMPROW rows[16];
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = fail_exit;
  errors.base.emit_message = emit_strict;
  errors.base.output_message = silent;
  errors.message[0] = 0;
  jpeg_create_decompress(&cinfo);
  if (setjmp(errors.env)) {
    snprintf(b->message, sizeof b->message, "%s", errors.message);
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  if (b->tables) {
    jpeg_mem_src(&cinfo, b->tables, b->tables_length);
    if (jpeg_read_header(&cinfo, FALSE) != JPEG_HEADER_TABLES_ONLY) {
      snprintf(b->message, sizeof b->message, "the JPEG tables do not parse as tables");
      jpeg_destroy_decompress(&cinfo);
      return 0;
    }
  }
  jpeg_mem_src(&cinfo, b->data[i], b->length[i]);
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
    snprintf(b->message, sizeof b->message, "no JPEG image in the tile");
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  if (cinfo.num_components == 3 && b->colour == COLOUR_RGB) cinfo.jpeg_color_space = JCS_RGB;
  if (cinfo.num_components == 3 && b->colour == COLOUR_YCBCR) cinfo.jpeg_color_space = JCS_YCbCr;
  cinfo.out_color_space = JCS_RGB;
  cinfo.scale_num = 1;
  cinfo.scale_denom = b->scale_denom;
  jpeg_start_decompress(&cinfo);
  if ((int)cinfo.output_width != b->width || (int)cinfo.output_height != b->height) {
    snprintf(b->message, sizeof b->message, "JPEG decodes to %ux%u, the tile is %dx%d", cinfo.output_width,
             cinfo.output_height, b->width, b->height);
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  size_t stride = (size_t)b->width * 3;
  while (cinfo.output_scanline < cinfo.output_height) {
    int n = cinfo.rec_outbuf_height > 16 ? 16 : cinfo.rec_outbuf_height;
    for (int r = 0; r < n; r++) rows[r] = dest + (cinfo.output_scanline + r) * stride;
    jpeg_read_scanlines(&cinfo, rows, n);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return 1;
}

// ---- JPEG 2000 --------------------------------------------------------------------------------

typedef struct {
  const uint8_t *data;
  OPJ_SIZE_T length, offset;
} memory_stream;

static OPJ_SIZE_T stream_read(void *buffer, OPJ_SIZE_T count, void *user) {
  memory_stream *s = user;
  OPJ_SIZE_T left = s->length - s->offset;
  if (left == 0) return (OPJ_SIZE_T)-1;
  if (count > left) count = left;
  memcpy(buffer, s->data + s->offset, count);
  s->offset += count;
  return count;
}

static OPJ_OFF_T stream_skip(OPJ_OFF_T count, void *user) {
  memory_stream *s = user;
  OPJ_OFF_T target = (OPJ_OFF_T)s->offset + count;
  if (target < 0) target = 0;
  if (target > (OPJ_OFF_T)s->length) target = (OPJ_OFF_T)s->length;
  OPJ_OFF_T moved = target - (OPJ_OFF_T)s->offset;
  s->offset = (OPJ_SIZE_T)target;
  return count != 0 && moved == 0 ? -1 : moved;
}

static OPJ_BOOL stream_seek(OPJ_OFF_T offset, void *user) {
  memory_stream *s = user;
  if (offset < 0 || offset > (OPJ_OFF_T)s->length) return OPJ_FALSE;
  s->offset = (OPJ_SIZE_T)offset;
  return OPJ_TRUE;
}

static void j2k_error(const char *message, void *user) {
  batch *b = user;
  if (b->message[0] == 0) {
    snprintf(b->message, sizeof b->message, "OpenJPEG: %s", message);
    size_t n = strlen(b->message);
    while (n > 0 && (b->message[n - 1] == '\n' || b->message[n - 1] == '\r')) b->message[--n] = 0;
  }
}

static void j2k_quiet(const char *message, void *user) {
  (void)message;
  (void)user;
}

// OpenSlide's YCbCr tables (make-tables.c): rounded BT.601 full-range chroma terms, G in 16.16.
static int16_t R_Cr[256], B_Cb[256];
static int32_t G_Cb[256], G_Cr[256];
static int tables_ready = 0;

static void make_tables(void) {
  for (int i = 0; i < 256; i++) {
    R_Cr[i] = (int16_t)lround(1.402 * (i - 128));
    B_Cb[i] = (int16_t)lround(1.772 * (i - 128));
    G_Cb[i] = (int32_t)lround(65536.0 * (0.5 - 0.34414 * (i - 128)));
    G_Cr[i] = (int32_t)lround(65536.0 * -0.71414 * (i - 128));
  }
  tables_ready = 1;
}

static uint8_t clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }

static int decode_j2k(batch *b, int i, uint8_t *dest) {
  const uint8_t *data = b->data[i];
  size_t length = b->length[i];
  // A JP2 file starts with its signature box; Aperio and DICOM usually hold bare codestreams.
  int jp2 = length >= 12 && data[4] == 'j' && data[5] == 'P' && data[6] == ' ' && data[7] == ' ';
  memory_stream state = {data, length, 0};
  opj_stream_t *stream = opj_stream_create(length, OPJ_TRUE);
  opj_stream_set_user_data(stream, &state, NULL);
  opj_stream_set_user_data_length(stream, length);
  opj_stream_set_read_function(stream, stream_read);
  opj_stream_set_skip_function(stream, stream_skip);
  opj_stream_set_seek_function(stream, stream_seek);
  opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  opj_setup_decoder(codec, &parameters);
  opj_set_error_handler(codec, j2k_error, b);
  opj_set_warning_handler(codec, j2k_quiet, b);
  opj_set_info_handler(codec, j2k_quiet, b);
  opj_image_t *image = NULL;
  int ok = 0;
  if (!opj_read_header(stream, codec, &image)) {
    if (!b->message[0]) snprintf(b->message, sizeof b->message, "OpenJPEG cannot read the codestream header");
    goto done;
  }
  b->message[0] = 0;
  if ((int)image->x1 != b->width || (int)image->y1 != b->height) {
    snprintf(b->message, sizeof b->message, "JPEG 2000 tile is %ux%u, the tile is %dx%d", image->x1, image->y1,
             b->width, b->height);
    goto done;
  }
  if (image->numcomps != 3) {
    snprintf(b->message, sizeof b->message, "JPEG 2000 tile has %u components, expected 3", image->numcomps);
    goto done;
  }
  if (!opj_decode(codec, stream, image)) {
    if (!b->message[0]) snprintf(b->message, sizeof b->message, "OpenJPEG failed to decode the tile");
    goto done;
  }
  b->message[0] = 0;
  {
    int w = b->width, h = b->height;
    opj_image_comp_t *c = image->comps;
    int sx[3], sy[3];
    for (int k = 0; k < 3; k++) {
      if (!c[k].data || c[k].w == 0 || c[k].h == 0) {
        snprintf(b->message, sizeof b->message, "JPEG 2000 component %d is empty", k);
        goto done;
      }
      sx[k] = w / (int)c[k].w;
      sy[k] = h / (int)c[k].h;
      if (sx[k] < 1 || sy[k] < 1) {
        snprintf(b->message, sizeof b->message, "JPEG 2000 component %d is larger than the tile", k);
        goto done;
      }
    }
    for (int y = 0; y < h; y++) {
      uint8_t *row = dest + (size_t)y * w * 3;
      for (int x = 0; x < w; x++) {
        // OpenSlide reads components as 8-bit values, wrapping rather than clamping.
        uint8_t v0 = (uint8_t)c[0].data[(y / sy[0]) * (int)c[0].w + x / sx[0]];
        uint8_t v1 = (uint8_t)c[1].data[(y / sy[1]) * (int)c[1].w + x / sx[1]];
        uint8_t v2 = (uint8_t)c[2].data[(y / sy[2]) * (int)c[2].w + x / sx[2]];
        if (b->colour == COLOUR_YCBCR) {
          int g = (G_Cb[v1] + G_Cr[v2]) >> 16;
          row[x * 3] = clamp255(v0 + R_Cr[v2]);
          row[x * 3 + 1] = clamp255(v0 + (int16_t)g);
          row[x * 3 + 2] = clamp255(v0 + B_Cb[v1]);
        } else {
          row[x * 3] = v0;
          row[x * 3 + 1] = v1;
          row[x * 3 + 2] = v2;
        }
      }
    }
  }
  ok = 1;
done:
  if (image) opj_image_destroy(image);
  opj_destroy_codec(codec);
  opj_stream_destroy(stream);
  return ok;
}

// ---- Placing tiles in a region ----------------------------------------------------------------

// Copies a packed-RGB tile whose top-left corner is at (left, top) in region pixels into the part
// of the region it covers, left of clip_right and above clip_bottom (where the image ends: edge
// tiles are padded).
static void place_tile(uint8_t *region, int width, int height, int clip_right, int clip_bottom, const uint8_t *tile,
                       int tile_w, int tile_h, int left, int top) {
  int right = width < clip_right ? width : clip_right, bottom = height < clip_bottom ? height : clip_bottom;
  int x0 = left > 0 ? left : 0, y0 = top > 0 ? top : 0;
  int x1 = left + tile_w < right ? left + tile_w : right, y1 = top + tile_h < bottom ? top + tile_h : bottom;
  if (x1 <= x0 || y1 <= y0) return;
  size_t row_bytes = (size_t)(x1 - x0) * 3;
  for (int y = y0; y < y1; y++)
    memcpy(region + ((size_t)y * width + x0) * 3, tile + ((size_t)(y - top) * tile_w + (x0 - left)) * 3, row_bytes);
}

static void free_batch(batch *b) {
  free(b->outs);
  free((void *)b->data);
  free(b->length);
  free(b);
}

// ---- Thread pool --------------------------------------------------------------------------------

static void execute(batch *b) {
  for (int i = 0; i < b->count; i++) {
    b->message[0] = 0;
    uint8_t *tile = b->outs[i];
    int ok = b->codec == CODEC_JPEG ? decode_jpeg(b, i, tile) : decode_j2k(b, i, tile);
    if (!ok) {
      b->failed_index = i;
      if (!b->message[0]) snprintf(b->message, sizeof b->message, "decode failed");
      return;
    }
    if (b->region)
      place_tile(b->region, b->region_width, b->region_height, b->clip_right, b->clip_bottom, tile, b->width,
                 b->height, b->origins[2 * i], b->origins[2 * i + 1]);
  }
}

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static batch *queue_head = NULL, *queue_tail = NULL;
static int pool_threads = 0;
static napi_threadsafe_function finished = NULL;
static int outstanding = 0;  // main thread only

static void *pool_thread(void *unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&queue_lock);
    while (!queue_head) pthread_cond_wait(&queue_ready, &queue_lock);
    batch *b = queue_head;
    queue_head = b->next;
    if (!queue_head) queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    execute(b);
    napi_call_threadsafe_function(finished, b, napi_tsfn_blocking);
  }
  return NULL;
}

// On the main thread: hands the batch's outcome to its callback and releases what it held.
static void complete(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused;
  (void)context;
  batch *b = data;
  napi_value callback, global, argv[2], result;
  if (env) {
    napi_get_reference_value(env, b->callback, &callback);
    napi_get_global(env, &global);
    if (b->failed_index >= 0) {
      napi_create_int32(env, b->failed_index, &argv[0]);
      napi_create_string_utf8(env, b->message, NAPI_AUTO_LENGTH, &argv[1]);
    } else {
      napi_get_null(env, &argv[0]);
      napi_get_null(env, &argv[1]);
    }
    napi_delete_reference(env, b->refs);
    napi_delete_reference(env, b->out_ref);
    if (b->region_ref) napi_delete_reference(env, b->region_ref);
    if (b->origins_ref) napi_delete_reference(env, b->origins_ref);
    if (b->tables_ref) napi_delete_reference(env, b->tables_ref);
    if (--outstanding == 0) napi_unref_threadsafe_function(env, finished);
    napi_call_function(env, global, callback, 2, argv, &result);
    napi_delete_reference(env, b->callback);
  }
  free_batch(b);
}

static int grow_pool(int threads) {
  while (pool_threads < threads) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, pool_thread, NULL) != 0) return 0;
    pthread_detach(thread);
    pool_threads++;
  }
  return 1;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int int32_array(napi_env env, napi_value value, size_t at_least, int32_t **data) {
  napi_typedarray_type type;
  size_t length, byte_offset;
  napi_value array_buffer;
  return napi_get_typedarray_info(env, value, &type, &length, (void **)data, &array_buffer, &byte_offset) == napi_ok &&
         type == napi_int32_array && length >= at_least;
}

// decode(codec, tiles: Buffer[], tables: Buffer | null, colour, width, height, scaleDenom, outs: Buffer[],
//        callback(failedIndex | null, message | null), threads,
//        region: Buffer | null, regionWidth, regionHeight, clipRight, clipBottom, origins: Int32Array | null)
static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 16) return throw_type(env, "decode takes 16 arguments");
  int32_t threads;
  napi_get_value_int32(env, argv[9], &threads);
  if (threads < 1 || threads > 1024 || !grow_pool(threads)) return throw_type(env, "cannot start decode threads");
  batch *b = calloc(1, sizeof(batch));
  if (!b) return throw_type(env, "out of memory");
  int32_t codec, colour;
  uint32_t count;
  napi_get_value_int32(env, argv[0], &codec);
  napi_get_value_int32(env, argv[3], &colour);
  napi_get_value_int32(env, argv[4], &b->width);
  napi_get_value_int32(env, argv[5], &b->height);
  napi_get_value_int32(env, argv[6], &b->scale_denom);
  b->codec = codec == 1 ? CODEC_J2K : CODEC_JPEG;
  b->colour = colour == 1 ? COLOUR_RGB : colour == 2 ? COLOUR_YCBCR : COLOUR_AUTO;
  b->failed_index = -1;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok || count > MAX_TILES || b->width <= 0 ||
      b->height <= 0 || (b->scale_denom != 1 && b->scale_denom != 2 && b->scale_denom != 4 && b->scale_denom != 8)) {
    free_batch(b);
    return throw_type(env, "bad decode arguments");
  }
  b->count = (int)count;
  b->data = calloc(count ? count : 1, sizeof(*b->data));
  b->length = calloc(count ? count : 1, sizeof(*b->length));
  if (!b->data || !b->length) {
    free_batch(b);
    return throw_type(env, "out of memory");
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value tile;
    void *data;
    size_t length;
    bool is_buffer = false;
    napi_get_element(env, argv[1], i, &tile);
    napi_is_buffer(env, tile, &is_buffer);
    if (!is_buffer) {
      free_batch(b);
      return throw_type(env, "tiles must be Buffers");
    }
    napi_get_buffer_info(env, tile, &data, &length);
    b->data[i] = data;
    b->length[i] = length;
  }
  napi_valuetype tables_type;
  napi_typeof(env, argv[2], &tables_type);
  if (tables_type != napi_null && tables_type != napi_undefined) {
    void *data;
    napi_get_buffer_info(env, argv[2], &data, &b->tables_length);
    b->tables = data;
    napi_create_reference(env, argv[2], 1, &b->tables_ref);
  }
  uint32_t outs_count;
  b->outs = calloc(count ? count : 1, sizeof(*b->outs));
  if (!b->outs || napi_get_array_length(env, argv[7], &outs_count) != napi_ok || outs_count != count) {
    free_batch(b);
    return throw_type(env, "one output buffer per tile is needed");
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value out;
    void *data;
    size_t length;
    bool is_buffer = false;
    napi_get_element(env, argv[7], i, &out);
    napi_is_buffer(env, out, &is_buffer);
    if (!is_buffer || napi_get_buffer_info(env, out, &data, &length) != napi_ok ||
        length < (size_t)b->width * b->height * 3) {
      free_batch(b);
      return throw_type(env, "an output buffer is too small");
    }
    b->outs[i] = data;
  }
  napi_valuetype region_type;
  napi_typeof(env, argv[10], &region_type);
  if (region_type != napi_null && region_type != napi_undefined) {
    size_t region_length;
    int32_t *origins;
    napi_get_buffer_info(env, argv[10], (void **)&b->region, &region_length);
    napi_get_value_int32(env, argv[11], &b->region_width);
    napi_get_value_int32(env, argv[12], &b->region_height);
    napi_get_value_int32(env, argv[13], &b->clip_right);
    napi_get_value_int32(env, argv[14], &b->clip_bottom);
    if (b->region_width <= 0 || b->region_height <= 0 ||
        region_length < (size_t)b->region_width * b->region_height * 3 || !int32_array(env, argv[15], 2 * count, &origins)) {
      free_batch(b);
      return throw_type(env, "bad region placement");
    }
    b->origins = origins;
    napi_create_reference(env, argv[10], 1, &b->region_ref);
    napi_create_reference(env, argv[15], 1, &b->origins_ref);
  }
  if (b->codec == CODEC_J2K && !tables_ready) make_tables();
  napi_create_reference(env, argv[1], 1, &b->refs);
  napi_create_reference(env, argv[7], 1, &b->out_ref);
  napi_create_reference(env, argv[8], 1, &b->callback);
  // While batches are out the pool keeps Node's event loop alive; when none are, it must not.
  if (outstanding++ == 0) napi_ref_threadsafe_function(env, finished);
  pthread_mutex_lock(&queue_lock);
  if (queue_tail) queue_tail->next = b;
  else queue_head = b;
  queue_tail = b;
  pthread_cond_signal(&queue_ready);
  pthread_mutex_unlock(&queue_lock);
  return NULL;
}

// compose(dest, width, height, tiles: Buffer[], tileWidth, tileHeight, origins: Int32Array, clipRight, clipBottom)
// place_tile for tiles already decoded (from the cache): one call instead of a copy per tile row from JS.
static napi_value compose(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 9) return throw_type(env, "compose takes 9 arguments");
  int32_t clip_right, clip_bottom;
  napi_get_value_int32(env, argv[7], &clip_right);
  napi_get_value_int32(env, argv[8], &clip_bottom);
  uint8_t *dest;
  size_t dest_length;
  int32_t width, height, tile_w, tile_h;
  uint32_t count;
  napi_get_buffer_info(env, argv[0], (void **)&dest, &dest_length);
  napi_get_value_int32(env, argv[1], &width);
  napi_get_value_int32(env, argv[2], &height);
  napi_get_value_int32(env, argv[4], &tile_w);
  napi_get_value_int32(env, argv[5], &tile_h);
  napi_typedarray_type type;
  size_t origins_length;
  int32_t *origins;
  napi_value array_buffer;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[6], &type, &origins_length, (void **)&origins, &array_buffer, &byte_offset) !=
          napi_ok ||
      type != napi_int32_array || napi_get_array_length(env, argv[3], &count) != napi_ok ||
      origins_length < 2 * (size_t)count || width <= 0 || height <= 0 || tile_w <= 0 || tile_h <= 0 ||
      dest_length < (size_t)width * height * 3)
    return throw_type(env, "bad compose arguments");
  for (uint32_t i = 0; i < count; i++) {
    napi_value tile_value;
    uint8_t *tile;
    size_t tile_length;
    napi_get_element(env, argv[3], i, &tile_value);
    if (napi_get_buffer_info(env, tile_value, (void **)&tile, &tile_length) != napi_ok ||
        tile_length < (size_t)tile_w * tile_h * 3)
      return throw_type(env, "compose: a tile is too small");
    place_tile(dest, width, height, clip_right, clip_bottom, tile, tile_w, tile_h, origins[2 * i], origins[2 * i + 1]);
  }
  return NULL;
}

static napi_value versions(napi_env env, napi_callback_info info) {
  (void)info;
  char text[128];
  snprintf(text, sizeof text, "libjpeg %d, OpenJPEG %s", JPEG_LIB_VERSION, opj_version());
  napi_value result;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  if (!tables_ready) make_tables();
  if (finished) {
    napi_throw_error(env, NULL, "pathgen-codecs loads once per process (not in worker threads)");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "pathgen.decode", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, complete, &finished);
  napi_unref_threadsafe_function(env, finished);
  napi_value fn;
  napi_create_function(env, "decode", NAPI_AUTO_LENGTH, decode, NULL, &fn);
  napi_set_named_property(env, exports, "decode", fn);
  napi_create_function(env, "compose", NAPI_AUTO_LENGTH, compose, NULL, &fn);
  napi_set_named_property(env, exports, "compose", fn);
  napi_create_function(env, "versions", NAPI_AUTO_LENGTH, versions, NULL, &fn);
  napi_set_named_property(env, exports, "versions", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
