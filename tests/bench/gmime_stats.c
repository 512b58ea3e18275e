/* gmime_stats.c - the reference for `msgshow --stats --mbox`, written with GMime 3.
 *
 * Does the same work as msgshow's stats mode: parse an mbox archive message by
 * message (GMimeParser in mbox scan mode), walk every part of every message
 * (multipart children, and the embedded message of message/rfc822 parts),
 * transfer-decode every leaf part into a counting null stream, and print
 *
 *   messages: N
 *   parts: N          every node: multiparts, message/rfc822 containers, leaves
 *   leaf parts: N
 *   decoded bytes: N
 *
 * usage: gmime_stats [--mmap] [--parse-only] ARCHIVE      (plain mbox; no gzip)
 * --mmap reads through GMimeStreamMmap instead of GMimeStreamFs.
 * --parse-only builds and walks each message's tree but decodes nothing
 * (decoded bytes: 0): GMime's parse-only throughput, the reference for msgcheck.
 *
 * Built by tests/bench/run.sh:  cc -O2 gmime_stats.c $(pkg-config --cflags --libs gmime-3.0)
 */
#include <gmime/gmime.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct counts {
    guint64 messages, parts, leaves, bytes;
    int decode;
    GMimeStream *sink; /* GMimeStreamNull: counts what is written to it */
};

static void walk(GMimeObject *obj, struct counts *c) {
    if (!obj) return;
    c->parts++;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++) walk(g_mime_multipart_get_part(mp, i), c);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (m) walk(g_mime_message_get_mime_part(m), c);
    } else if (GMIME_IS_PART(obj)) {
        c->leaves++;
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
        if (w && c->decode) g_mime_data_wrapper_write_to_stream(w, c->sink); /* decodes the transfer encoding */
    }
}

int main(int argc, char **argv) {
    int use_mmap = 0, decode = 1;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mmap") == 0) use_mmap = 1;
        else if (strcmp(argv[i], "--parse-only") == 0) decode = 0;
        else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: gmime_stats [--mmap] [--parse-only] ARCHIVE\n");
        return 64;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "gmime_stats: cannot open %s: %s\n", path, strerror(errno));
        return 66;
    }
    g_mime_init();
    GMimeStream *stream = use_mmap ? g_mime_stream_mmap_new(fd, PROT_READ, MAP_PRIVATE)
                                   : g_mime_stream_fs_new(fd); /* both take over fd */
    if (!stream) {
        fprintf(stderr, "gmime_stats: cannot map %s\n", path);
        return 74;
    }
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);

    struct counts c = {0};
    c.decode = decode;
    c.sink = g_mime_stream_null_new();
    while (!g_mime_parser_eos(parser)) {
        GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
        if (!msg) break;
        c.messages++;
        walk(g_mime_message_get_mime_part(msg), &c);
        g_object_unref(msg);
    }
    c.bytes = GMIME_STREAM_NULL(c.sink)->written;

    printf("messages: %llu\nparts: %llu\nleaf parts: %llu\ndecoded bytes: %llu\n",
           (unsigned long long)c.messages, (unsigned long long)c.parts,
           (unsigned long long)c.leaves, (unsigned long long)c.bytes);

    g_object_unref(c.sink);
    g_object_unref(parser);
    g_object_unref(stream);
    g_mime_shutdown();
    return 0;
}
