// cpu.hpp - what the x86-64 CPU the library runs on can do, for the few loops
// that have SSSE3 or AVX2 versions (each compiled for its own target, see
// codec_base64_simd.cpp and line_scan.cpp). Asked once; false on any other
// architecture or compiler, where the portable loops run.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MSG_X86_DISPATCH 1
#endif

namespace msg::detail {

#if defined(MSG_X86_DISPATCH)
inline bool cpu_has_ssse3() {
    static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("ssse3"));
    return yes;
}
// AVX2, and POPCNT that every AVX2 CPU has but the x86-64 baseline does not.
inline bool cpu_has_avx2() {
    static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"));
    return yes;
}
#else
inline bool cpu_has_ssse3() { return false; }
inline bool cpu_has_avx2() { return false; }
#endif

}  // namespace msg::detail
