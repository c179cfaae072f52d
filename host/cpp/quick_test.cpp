// The QtQuickTest entry point for `tests/qml_tests.rs`: Debian's qmltestrunner cannot
// load our statically linked QML module, so the test binary calls quick_test_main itself.
#include <QtQuickTest/quicktest.h>

extern "C" int qmlbridge_quick_test_main(int argc, char **argv, const char *source_dir)
{
    return quick_test_main(argc, argv, "qmlbridge", source_dir);
}
