// The window under QtQuickTest, Bundled mode (host/tests/qml.rs starts it with the real backend
// and an empty data dir): a refused expense keeps the form's input; expenses added through the
// form show in the list and in the header's totals; with "unpaid only" on, Settle empties the list
// live (the backend announces each settled row) and the header follows (the summary's topic),
// down to the settlement the backend's deferred task records.
import QtQuick
import QtTest
import QmlBridge

TestCase {
    id: test

    name: "Window"
    when: windowShown

    property var window: null

    function initTestCase() {
        const component = Qt.createComponent("qrc:/qt/qml/Expenses/qml/Main.qml");
        verify(component.status === Component.Ready, component.errorString());
        test.window = component.createObject(null);
        verify(test.window !== null, "Main.qml made no window");
    }

    function cleanupTestCase() {
        if (test.window)
            test.window.destroy();
    }

    function child(name) {
        const found = findChild(test.window, name);
        verify(found, name);
        return found;
    }

    // Fills the form and presses Add (the button: it is enabled only for a complete form).
    function fill(category, label, amount) {
        child("categoryBox").currentIndex = category;
        child("labelField").text = label;
        child("amountField").text = amount;
        const add = child("addButton");
        tryCompare(add, "enabled", true, 20000);
        mouseClick(add);
    }

    function test_1_comes_online_with_the_seeded_categories() {
        compare(BackendConnection.mode, BackendConnection.Bundled);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        compare(child("offlineOverlay").visible, false);
        tryCompare(test.window.categories, "count", 3, 20000);
        tryCompare(child("categoryBox"), "currentText", "Food", 20000);
        tryVerify(() => child("summary").summary !== null, 20000, "the first summary");
        compare(child("totalLabel").text, "Total 0.00");
    }

    function test_2_a_refused_expense_keeps_the_input() {
        tryCompare(test.window.expenses, "live", true, 20000);
        const list = child("expenseList");
        const before = list.count;
        test.fill(0, "Refund", "-5");
        tryVerify(() => test.window.addError.length > 0, 20000, "the refusal is shown");
        verify(test.window.addError.indexOf("amount_cents must be positive") >= 0, test.window.addError);
        compare(child("addError").text, test.window.addError);
        compare(child("labelField").text, "Refund", "the input is kept");
        compare(child("amountField").text, "-5");
        compare(list.count, before);
        child("amountField").clear();
        child("labelField").clear();
    }

    function test_3_add_then_settle_and_the_header_and_list_follow() {
        const list = child("expenseList");
        const summary = child("summary");
        const expenses = test.window.expenses;
        tryCompare(expenses, "live", true, 20000);
        tryCompare(expenses, "loading", false, 20000);
        compare(list.count, 0);

        // Transport: the ComboBox's value is the category's id, a number, sent back as is.
        test.fill(1, "Bus", "3.20");
        tryCompare(child("labelField"), "text", "", 20000);
        compare(test.window.addError, "");
        tryCompare(list, "count", 1, 20000);
        const bus = expenses.get(0);
        const transport = test.window.categories.get(1);
        verify(bus.category_id === transport.id, bus.category_id + " === " + transport.id);
        compare(bus.amount_cents, 320);
        compare(test.window.categoryName(bus.category_id, test.window.categories.count), "Transport");
        tryCompare(summary, "unpaidCents", 320, 20000);
        tryCompare(child("unpaidLabel"), "text", "Unpaid 3.20", 20000);

        test.fill(0, "Bread", "2.5");
        tryCompare(list, "count", 2, 20000);
        tryCompare(summary, "totalCents", 570, 20000);
        compare(summary.unpaidCents, 570);
        // One paid already (a PATCH through the model): the header follows the hook's topic.
        test.fill(2, "Lamp", "20");
        tryCompare(list, "count", 3, 20000);
        tryCompare(summary, "unpaidCents", 2570, 20000);
        expenses.update(expenses.get(2).expenseId, { "paid": true });
        tryCompare(summary, "unpaidCents", 570, 20000);
        compare(summary.totalCents, 2570);

        // Unpaid only: the model refetches with ?paid=false (the paid lamp is not listed), and
        // stays live. Waiting for the count makes sure no refetch is pending below.
        child("unpaidOnly").toggle();
        tryCompare(list, "count", 2, 20000);
        tryCompare(expenses, "loading", false, 20000);
        tryCompare(expenses, "live", true, 20000);

        // Settle: no refresh() anywhere; the rows leave the filtered list through the hub.
        const settle = child("settleButton");
        tryCompare(settle, "enabled", true, 20000);
        mouseClick(settle);
        tryCompare(list, "count", 0, 20000);
        tryCompare(summary, "unpaidCents", 0, 20000);
        compare(summary.totalCents, 2570);
        compare(test.window.settleError, "");
        compare(settle.enabled, false, "nothing left to settle");
        // Written after the response by the backend's deferred task, announced on the topic.
        tryCompare(summary, "settlements", 1, 20000);
        compare(child("settlementsLabel").text.indexOf("1"), 0);

        // Everything again: all three rows, paid.
        child("unpaidOnly").toggle();
        tryCompare(list, "count", 3, 20000);
        for (let i = 0; i < 3; ++i)
            verify(expenses.get(i).paid, expenses.get(i).label + " paid");
    }
}
