// Placeholder N-API entry point; the native backend fills this in.
#include <napi.h>
static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(moss_native, Init)
