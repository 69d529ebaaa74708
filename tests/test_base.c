/* test_base.c — error table, fr_error formatting, buffers, file reading. */
#include "base/base.h"
#include "test.h"

int main(void) {
    CHECK_STR(fr_strerror(FR_EUTF8), "invalid UTF-8");
    CHECK_STR(fr_strerror(0), "success");
    CHECK_STR(fr_strerror(-9999), "unknown error");

    fr_error e = {0};
    CHECK_EQ(fr__err(&e, FR_EFORMAT, "tensor '%s' ends at byte %d", "w", 912), FR_EFORMAT);
    CHECK_EQ(e.code, FR_EFORMAT);
    CHECK_STR(e.msg, "tensor 'w' ends at byte 912");
    fr__err_prefix(&e, FR_EFORMAT, "model.safetensors");
    CHECK_STR(e.msg, "model.safetensors: tensor 'w' ends at byte 912");
    CHECK_EQ(fr__err(NULL, FR_EIO, "x"), FR_EIO);

    fr__buf b = {0};
    for (int i = 0; i < 1000; i++) CHECK_EQ(fr__buf_printf(&b, "%d,", i % 10), 0);
    CHECK_EQ(b.len, 2000);
    CHECK(b.data[b.len] == 0);
    CHECK(memcmp(b.data, "0,1,2,", 6) == 0);
    fr__buf_free(&b);
    CHECK(b.data == NULL);

    char *data;
    size_t len;
    CHECK_EQ(fr__read_file("/nonexistent/x", &data, &len, &e), FR_ENOTFOUND);
    CHECK(strstr(e.msg, "/nonexistent/x") != NULL);
    CHECK_EQ(fr__read_file("tests/test.h", &data, &len, &e), 0);
    CHECK(len > 100 && data[len] == 0 && strstr(data, "CHECK") != NULL);
    free(data);

    fr__mmap m;
    CHECK_EQ(fr__mmap_open("tests/test.h", &m, &e), 0);
    CHECK(m.len == len);
    fr__mmap_close(&m);
    CHECK(fr__mmap_open("tests", &m, &e) < 0);
    return TEST_REPORT();
}
