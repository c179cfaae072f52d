//! `TodoModel`, the todo list for QML: a `QAbstractListModel` with the roles `todoId`,
//! `title` and `done`, the properties `count`, `error` and `live`, and invokables `add`, `toggle`, `remove`, `refresh` that return at once.
//! The requests and the live updates run in [`crate::todo_sync`]; results come back through
//! `qt_thread().queue(..)` and are applied as minimal row changes ([`crate::todos::diff`]).

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!(<QtCore/QAbstractListModel>);
        type QAbstractListModel;

        include!("cxx-qt-lib/qhash.h");
        type QHash_i32_QByteArray = cxx_qt_lib::QHash<cxx_qt_lib::QHashPair_i32_QByteArray>;
        include!("cxx-qt-lib/qvariant.h");
        type QVariant = cxx_qt_lib::QVariant;
        include!("cxx-qt-lib/qmodelindex.h");
        type QModelIndex = cxx_qt_lib::QModelIndex;
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
        include!("cxx-qt-lib/qvector.h");
        type QVector_i32 = cxx_qt_lib::QVector<i32>;
    }

    extern "RustQt" {
        #[qobject]
        #[base = QAbstractListModel]
        #[qml_element]
        #[qproperty(i32, count, READ, NOTIFY)]
        #[qproperty(QString, error, READ, NOTIFY)]
        #[qproperty(bool, live, READ, NOTIFY)]
        type TodoModel = super::TodoModelRust;
    }

    extern "RustQt" {
        /// Creates a todo with this title (ignored when blank).
        #[qinvokable]
        fn add(self: &TodoModel, title: &QString);
        /// Flips `done` of the todo with this id.
        #[qinvokable]
        fn toggle(self: &TodoModel, id: i64);
        /// Deletes the todo with this id.
        #[qinvokable]
        fn remove(self: &TodoModel, id: i64);
        /// Refetches the whole list.
        #[qinvokable]
        fn refresh(self: &TodoModel);
    }

    unsafe extern "RustQt" {
        #[inherit]
        #[qsignal]
        #[cxx_name = "dataChanged"]
        fn data_changed(
            self: Pin<&mut TodoModel>,
            top_left: &QModelIndex,
            bottom_right: &QModelIndex,
            roles: &QVector_i32,
        );
    }

    extern "RustQt" {
        #[inherit]
        #[cxx_name = "beginInsertRows"]
        unsafe fn begin_insert_rows(
            self: Pin<&mut TodoModel>,
            parent: &QModelIndex,
            first: i32,
            last: i32,
        );
        #[inherit]
        #[cxx_name = "endInsertRows"]
        unsafe fn end_insert_rows(self: Pin<&mut TodoModel>);
        #[inherit]
        #[cxx_name = "beginRemoveRows"]
        unsafe fn begin_remove_rows(
            self: Pin<&mut TodoModel>,
            parent: &QModelIndex,
            first: i32,
            last: i32,
        );
        #[inherit]
        #[cxx_name = "endRemoveRows"]
        unsafe fn end_remove_rows(self: Pin<&mut TodoModel>);
    }

    unsafe extern "RustQt" {
        #[inherit]
        fn index(self: &TodoModel, row: i32, column: i32, parent: &QModelIndex) -> QModelIndex;

        #[qinvokable]
        #[cxx_override]
        fn data(self: &TodoModel, index: &QModelIndex, role: i32) -> QVariant;
        #[qinvokable]
        #[cxx_override]
        #[cxx_name = "roleNames"]
        fn role_names(self: &TodoModel) -> QHash_i32_QByteArray;
        #[qinvokable]
        #[cxx_override]
        #[cxx_name = "rowCount"]
        fn row_count(self: &TodoModel, parent: &QModelIndex) -> i32;
    }

    impl cxx_qt::Threading for TodoModel {}
    impl cxx_qt::Initialize for TodoModel {}
}

use std::pin::Pin;
use std::sync::Arc;

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::{
    QByteArray, QHash, QHashPair_i32_QByteArray, QModelIndex, QString, QVariant, QVector,
};

use crate::todo_sync::{Command, Outcome, SyncTasks};
use crate::todos::{self, RowOp, Todo};

/// Qt::UserRole + n.
const ID_ROLE: i32 = 0x0100;
const TITLE_ROLE: i32 = 0x0101;
const DONE_ROLE: i32 = 0x0102;

/// The model's state: the rows, the last error, the network tasks.
#[derive(Default)]
pub struct TodoModelRust {
    todos: Vec<Todo>,
    count: i32,
    error: QString,
    /// Following the Mercure hub right now: other clients' changes arrive without a refetch.
    live: bool,
    sync: Option<SyncTasks>,
}

impl cxx_qt::Initialize for qobject::TodoModel {
    fn initialize(mut self: Pin<&mut Self>) {
        let qt = self.qt_thread();
        let deliver = Arc::new(move |outcome: Outcome| {
            qt.queue(move |model| model.on_outcome(outcome)).is_ok()
        });
        self.as_mut().rust_mut().sync = Some(SyncTasks::start(deliver));
    }
}

impl qobject::TodoModel {
    fn send(&self, command: Command) {
        if let Some(sync) = &self.rust().sync {
            sync.send(command);
        }
    }

    fn add(&self, title: &QString) {
        let title = title.to_string().trim().to_string();
        if !title.is_empty() {
            self.send(Command::Add(title));
        }
    }

    fn toggle(&self, id: i64) {
        if let Some(todo) = self.rust().todos.iter().find(|t| t.id == id) {
            self.send(Command::SetDone(id, !todo.done));
        }
    }

    fn remove(&self, id: i64) {
        self.send(Command::Remove(id));
    }

    fn refresh(&self) {
        self.send(Command::Refresh);
    }

    fn data(&self, index: &QModelIndex, role: i32) -> QVariant {
        let Some(todo) = usize::try_from(index.row())
            .ok()
            .and_then(|r| self.rust().todos.get(r))
        else {
            return QVariant::default();
        };
        match role {
            ID_ROLE => QVariant::from(&todo.id),
            TITLE_ROLE => QVariant::from(&QString::from(&todo.title)),
            DONE_ROLE => QVariant::from(&todo.done),
            _ => QVariant::default(),
        }
    }

    fn role_names(&self) -> QHash<QHashPair_i32_QByteArray> {
        let mut roles = QHash::<QHashPair_i32_QByteArray>::default();
        roles.insert(ID_ROLE, QByteArray::from("todoId"));
        roles.insert(TITLE_ROLE, QByteArray::from("title"));
        roles.insert(DONE_ROLE, QByteArray::from("done"));
        roles
    }

    fn row_count(&self, _parent: &QModelIndex) -> i32 {
        i32::try_from(self.rust().todos.len()).unwrap_or(i32::MAX)
    }

    /// Applies a network result on the GUI thread.
    fn on_outcome(mut self: Pin<&mut Self>, outcome: Outcome) {
        match outcome {
            Outcome::Changed(change) => {
                let next = todos::applied(&self.rust().todos, change);
                self.as_mut().set_rows(next);
                self.as_mut().set_error(QString::default());
            }
            Outcome::Failed(message) => self.as_mut().set_error(QString::from(&message)),
            Outcome::Live(live) => {
                if self.rust().live != live {
                    self.as_mut().rust_mut().live = live;
                    self.as_mut().live_changed();
                }
            }
        }
    }

    fn set_error(mut self: Pin<&mut Self>, error: QString) {
        if self.rust().error != error {
            self.as_mut().rust_mut().error = error;
            self.as_mut().error_changed();
        }
    }

    /// Replaces the rows through the minimal inserts, removes and updates.
    fn set_rows(mut self: Pin<&mut Self>, next: Vec<Todo>) {
        let ops = todos::diff(&self.rust().todos, &next);
        let root = QModelIndex::default();
        for op in ops {
            match op {
                RowOp::Remove(row) => {
                    let r = row as i32;
                    // SAFETY: begin/end are paired around the change they announce.
                    unsafe { self.as_mut().begin_remove_rows(&root, r, r) };
                    self.as_mut().rust_mut().todos.remove(row);
                    unsafe { self.as_mut().end_remove_rows() };
                }
                RowOp::Insert(row, todo) => {
                    let r = row as i32;
                    // SAFETY: as above.
                    unsafe { self.as_mut().begin_insert_rows(&root, r, r) };
                    self.as_mut().rust_mut().todos.insert(row, todo);
                    unsafe { self.as_mut().end_insert_rows() };
                }
                RowOp::Update(row, todo) => {
                    self.as_mut().rust_mut().todos[row] = todo;
                    let index = self.index(row as i32, 0, &root);
                    self.as_mut()
                        .data_changed(&index, &index, &QVector::<i32>::default());
                }
            }
        }
        let count = self.rust().todos.len() as i32;
        if self.rust().count != count {
            self.as_mut().rust_mut().count = count;
            self.as_mut().count_changed();
        }
    }
}
