/*
 * A reference for `whoismesh lookup -` (issue 16's target: >= 1M addresses/s end to end): the same
 * work as a run with the cache, done the most direct way, in C, on one thread — read
 * `lookup-<format>.cache` (src/report/bulk-cache.ts) whole, then for each input line parse the
 * address, search its /16's part of the answer table, and write the line (address, status,
 * exact, the network's cached part) into a 1 MiB buffer written to standard output. What the
 * answering costs without Node's start, JIT and object model. Not a floor: it waits for the pipe
 * while it writes (the command overlaps the two), so where the pipe is slow (JSONL's 505 MB) the
 * command beats it.
 *
 * A measuring tool, not a second implementation: the lines are the real ones within about 1%
 * (in_sample is always false, space without a network is always "unknown", a listing's slice is
 * not asked, input is taken to be well-formed dotted quads). scripts/bench-lookup.ts builds and
 * runs it beside the real command when a C compiler is there (`cc`), so that the two are
 * measured in one run; by hand:
 *
 *   cc -O2 -o /tmp/lookup-floor scripts/lookup-floor.c
 *   /tmp/lookup-floor DATA_DIR/lookup-csv.cache csv < addresses.txt | wc -lc
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t pad8 (size_t n) { return (8 - (n % 8)) % 8; }

static long header_number (const char *head, const char *key) {
  const char *at = strstr(head, key);
  if (at == NULL) { fprintf(stderr, "lookup-floor: no %s in the cache's header\n", key); exit(2); }
  return atol(at + strlen(key));
}

static uint8_t *out;
static size_t p;

static void flush_out (void) {
  for (size_t o = 0; o < p;) {
    ssize_t w = write(1, out + o, p - o);
    if (w <= 0) exit(0);
    o += (size_t)w;
  }
  p = 0;
}

static void put (const char *s, size_t n) { memcpy(out + p, s, n); p += n; }

static void octet (uint32_t v) {
  if (v >= 100) { out[p++] = '0' + v / 100; v %= 100; out[p++] = '0' + v / 10; }
  else if (v >= 10) out[p++] = '0' + v / 10;
  out[p++] = '0' + v % 10;
}

int main (int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: lookup-floor CACHE_FILE jsonl|csv < addresses\n"); return 2; }
  int json = strcmp(argv[2], "jsonl") == 0;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) { perror(argv[1]); return 2; }
  uint8_t *file = malloc((size_t)st.st_size);
  for (size_t off = 0; off < (size_t)st.st_size;) {
    ssize_t r = pread(fd, file + off, (size_t)st.st_size - off, (off_t)off);
    if (r <= 0) { perror(argv[1]); return 2; }
    off += (size_t)r;
  }
  /* the layout readCache reads: magic (10 bytes), header length, JSON header, then the arrays
     offset (f64), seg (4 x u32), dir (u32), length, query (u32), leaf (u8), each 8-aligned, then the lines */
  uint32_t head_len;
  memcpy(&head_len, file + 10, 4);
  char *head = strndup((const char *)file + 14, head_len);
  size_t c = (size_t)header_number(head, "\"crawledCount\":");
  size_t s = (size_t)header_number(head, "\"segments\":");
  size_t sizes[6] = { c * 8, s * 16, 65537 * 4, c * 4, c * 4, c };
  size_t at[6];
  size_t pos = 14 + head_len;
  pos += pad8(pos);
  for (int i = 0; i < 6; i++) { pos += pad8(pos); at[i] = pos; pos += sizes[i]; }
  const double *offset = (const double *)(file + at[0]);
  const uint32_t *seg = (const uint32_t *)(file + at[1]);
  const uint32_t *dir = (const uint32_t *)(file + at[2]);
  const uint32_t *length = (const uint32_t *)(file + at[3]);
  const uint32_t *query = (const uint32_t *)(file + at[4]);
  const uint8_t *leaf = file + at[5];
  const uint8_t *lines = file + pos;

  static const char *csv_mid[2] = { ",network,false,false,,", ",network,true,false,," };
  static const char *json_mid[2] = {
    "\",\"status\":\"network\",\"exact\":false,\"in_sample\":false,\"network\":",
    "\",\"status\":\"network\",\"exact\":true,\"in_sample\":false,\"network\":"
  };
  static const char csv_none[] = ",unknown,false,false,,,,,,,,,,,,,,,,,,,,\r\n";
  static const char json_none[] = "\",\"status\":\"unknown\",\"exact\":false,\"in_sample\":false,\"network\":null}\n";
  const char **mid = json ? json_mid : csv_mid;
  size_t mid_len[2] = { strlen(mid[0]), strlen(mid[1]) };
  const char *none = json ? json_none : csv_none;
  size_t none_len = strlen(none);

  out = malloc((1 << 20) + 65536);
  static uint8_t in[1 << 20];
  if (!json) { static const char h[] = "address,status,exact,in_sample,special,cidr,start_address,end_address,registry,handle,name,org,country,type,leaf,parent_handle,registered,last_changed,source,fetched_at,query_address,listed_sample,listed_at,author\r\n"; put(h, sizeof h - 1); }
  uint32_t a = 0, v = 0;
  for (;;) {
    ssize_t got = read(0, in, sizeof in);
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; i++) {
      uint8_t ch = in[i];
      if (ch == '.') { a = a * 256 + v; v = 0; continue; }
      if (ch != '\n') { v = v * 10 + (ch - '0'); continue; }
      uint32_t addr = a * 256 + v;
      a = v = 0;
      uint32_t lo = dir[addr >> 16], hi = dir[(addr >> 16) + 1];
      while (lo < hi) {
        uint32_t m = (lo + hi + 1) >> 1;
        if (seg[m * 4] <= addr) lo = m; else hi = m - 1;
      }
      int32_t net = (int32_t)seg[lo * 4 + 1];
      if (json) put("{\"address\":\"", 12);
      octet(addr >> 24); out[p++] = '.'; octet((addr >> 16) & 255); out[p++] = '.';
      octet((addr >> 8) & 255); out[p++] = '.'; octet(addr & 255);
      if (net >= 0 && (size_t)net < c) {
        int exact = (seg[lo * 4 + 2] & 1) != 0 || leaf[net] == 1 || query[net] == addr;
        put(mid[exact], mid_len[exact]);
        put((const char *)lines + (size_t)offset[net], length[net]);
      } else {
        put(none, none_len);
      }
      if (p >= 1 << 20) flush_out();
    }
  }
  flush_out();
  return 0;
}
