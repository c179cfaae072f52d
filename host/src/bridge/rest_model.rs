//! `RestModel`: a `QAbstractListModel` over one resource of the backend's resource convention
//! (docs/contract.md §7), kept live from the hub (§8). QML sets `resource`, `roles`, `keyRole`
//! and `query`; the model fetches, follows and writes through [`crate::rest::model_sync`], and
//! applies what it is told as minimal row operations, so views keep their delegates.

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
        include!("cxx-qt-lib/qstringlist.h");
        type QStringList = cxx_qt_lib::QStringList;
        include!("cxx-qt-lib/qvector.h");
        type QVector_i32 = cxx_qt_lib::QVector<i32>;
    }

    extern "RustQt" {
        #[qobject]
        #[base = QAbstractListModel]
        #[qml_element]
        #[qproperty(QString, resource)]
        #[qproperty(QStringList, roles)]
        #[qproperty(QString, key_role, cxx_name = "keyRole")]
        #[qproperty(QVariant, query)]
        #[qproperty(i32, count, READ, NOTIFY)]
        #[qproperty(bool, loading, READ, NOTIFY)]
        #[qproperty(QString, error, READ, NOTIFY)]
        #[qproperty(bool, live, READ, NOTIFY)]
        type RestModel = super::RestModelRust;
    }

    extern "RustQt" {
        /// `POST` a new row (an object of the resource's writable fields).
        #[qinvokable]
        fn create(self: &RestModel, object: &QVariant);
        /// `PATCH` the row with this key with the given fields.
        #[qinvokable]
        fn update(self: &RestModel, id: i64, patch: &QVariant);
        /// `DELETE` the row with this key.
        #[qinvokable]
        fn remove(self: &RestModel, id: i64);
        /// Refetches the whole list.
        #[qinvokable]
        fn refresh(self: &RestModel);
        /// The row as an object (its `id`, and the key under `keyRole` too); `undefined` outside
        /// `0..count`.
        #[qinvokable]
        fn get(self: &RestModel, row: i32) -> QVariant;
    }

    unsafe extern "RustQt" {
        #[inherit]
        #[qsignal]
        #[cxx_name = "dataChanged"]
        fn data_changed(
            self: Pin<&mut RestModel>,
            top_left: &QModelIndex,
            bottom_right: &QModelIndex,
            roles: &QVector_i32,
        );
    }

    extern "RustQt" {
        #[inherit]
        #[cxx_name = "beginInsertRows"]
        unsafe fn begin_insert_rows(
            self: Pin<&mut RestModel>,
            parent: &QModelIndex,
            first: i32,
            last: i32,
        );
        #[inherit]
        #[cxx_name = "endInsertRows"]
        unsafe fn end_insert_rows(self: Pin<&mut RestModel>);
        #[inherit]
        #[cxx_name = "beginRemoveRows"]
        unsafe fn begin_remove_rows(
            self: Pin<&mut RestModel>,
            parent: &QModelIndex,
            first: i32,
            last: i32,
        );
        #[inherit]
        #[cxx_name = "endRemoveRows"]
        unsafe fn end_remove_rows(self: Pin<&mut RestModel>);
        #[inherit]
        #[cxx_name = "beginResetModel"]
        unsafe fn begin_reset_model(self: Pin<&mut RestModel>);
        #[inherit]
        #[cxx_name = "endResetModel"]
        unsafe fn end_reset_model(self: Pin<&mut RestModel>);
    }

    unsafe extern "RustQt" {
        #[inherit]
        fn index(self: &RestModel, row: i32, column: i32, parent: &QModelIndex) -> QModelIndex;

        #[qinvokable]
        #[cxx_override]
        fn data(self: &RestModel, index: &QModelIndex, role: i32) -> QVariant;
        #[qinvokable]
        #[cxx_override]
        #[cxx_name = "roleNames"]
        fn role_names(self: &RestModel) -> QHash_i32_QByteArray;
        #[qinvokable]
        #[cxx_override]
        #[cxx_name = "rowCount"]
        fn row_count(self: &RestModel, parent: &QModelIndex) -> i32;
    }

    impl cxx_qt::Threading for RestModel {}
    impl cxx_qt::Initialize for RestModel {}
}

use std::pin::Pin;
use std::sync::Arc;

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::{
    QByteArray, QHash, QHashPair_i32_QByteArray, QList, QModelIndex, QString, QStringList,
    QVariant, QVector,
};
use serde_json::Value;

use crate::bridge::ffi;
use crate::rest::model_sync::{ModelSync, Output, Spec};
use crate::rest::rows::{Row, RowOp};

const TARGET: &str = "qmlbridge::rest";
/// Qt::UserRole: the key's role; the `roles` follow it in order.
const KEY_ROLE: i32 = 0x0100;
/// The key's role name unless `keyRole` says otherwise (`id` itself cannot be a QML role name).
const DEFAULT_KEY_ROLE: &str = "rowId";

/// The model's state: the rows as shown, the role names, the network task.
pub struct RestModelRust {
    resource: QString,
    roles: QStringList,
    key_role: QString,
    query: QVariant,
    count: i32,
    loading: bool,
    error: QString,
    live: bool,
    rows: Vec<Row>,
    /// The value roles in use: `roles`, or when that is empty the first row's members.
    role_list: Vec<String>,
    sync: Option<ModelSync>,
    /// A restart is queued (property changes are batched into one).
    restart_queued: bool,
}

impl Default for RestModelRust {
    fn default() -> Self {
        Self {
            resource: QString::default(),
            roles: QStringList::default(),
            key_role: QString::from(DEFAULT_KEY_ROLE),
            query: QVariant::default(),
            count: 0,
            loading: false,
            error: QString::default(),
            live: false,
            rows: Vec::new(),
            role_list: Vec::new(),
            sync: None,
            restart_queued: false,
        }
    }
}

impl cxx_qt::Initialize for qobject::RestModel {
    fn initialize(mut self: Pin<&mut Self>) {
        // QML assigns the properties after construction: react to them once the event loop
        // turns, with one restart for all of them.
        self.as_mut()
            .on_resource_changed(|model| model.queue_restart())
            .release();
        self.as_mut()
            .on_query_changed(|model| model.queue_restart())
            .release();
        self.as_mut()
            .on_roles_changed(|model| model.reset_roles())
            .release();
        self.as_mut()
            .on_key_role_changed(|model| model.reset_roles())
            .release();
        self.queue_restart();
    }
}

fn string_list(list: &QStringList) -> Vec<String> {
    QList::<QString>::from(list)
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl qobject::RestModel {
    fn queue_restart(mut self: Pin<&mut Self>) {
        if self.rust().restart_queued {
            return;
        }
        self.as_mut().rust_mut().restart_queued = true;
        let _ = self.qt_thread().queue(|model| model.restart());
    }

    /// Stops the old task, clears the rows and follows the current `resource` and `query`.
    fn restart(mut self: Pin<&mut Self>) {
        self.as_mut().rust_mut().restart_queued = false;
        self.as_mut().rust_mut().sync = None;
        self.as_mut().set_live_flag(false);
        self.as_mut().set_loading_flag(false);
        self.as_mut().reset_with(Vec::new());
        let resource = self.rust().resource.to_string();
        if resource.is_empty() {
            return;
        }
        let spec = match Spec::new(&resource, &ffi::to_json(&self.rust().query)) {
            Ok(spec) => spec,
            Err(text) => return self.as_mut().set_error_text(text),
        };
        self.as_mut().set_error_text(String::new());
        let qt = self.qt_thread();
        let deliver =
            Arc::new(move |output: Output| qt.queue(move |model| model.on_output(output)).is_ok());
        let sync = ModelSync::start(spec, deliver);
        if sync.is_none() {
            let text = "no qmlbridge session: start the app with qmlbridge_qt::App";
            self.as_mut().set_error_text(text.into());
        }
        self.as_mut().rust_mut().sync = sync;
    }

    /// `roles` or `keyRole` changed: views must read the role names again.
    fn reset_roles(self: Pin<&mut Self>) {
        let rows = self.rust().rows.clone();
        self.reset_with(rows);
    }

    /// Replaces everything in one model reset (role names included).
    fn reset_with(mut self: Pin<&mut Self>, rows: Vec<Row>) {
        // SAFETY: begin/end are paired around the change they announce.
        unsafe { self.as_mut().begin_reset_model() };
        let mut roles = string_list(&self.rust().roles);
        if roles.is_empty()
            && let Some(first) = rows.first()
        {
            roles = first
                .values
                .keys()
                .filter(|k| *k != "id")
                .cloned()
                .collect();
        }
        self.as_mut().rust_mut().role_list = roles;
        self.as_mut().rust_mut().rows = rows;
        unsafe { self.as_mut().end_reset_model() };
        self.update_count();
    }

    fn on_output(self: Pin<&mut Self>, output: Output) {
        match output {
            Output::Ops(ops) => self.apply_ops(ops),
            Output::Loading(loading) => self.set_loading_flag(loading),
            Output::Error(text) => self.set_error_text(text),
            Output::Live(live) => self.set_live_flag(live),
        }
    }

    fn apply_ops(mut self: Pin<&mut Self>, ops: Vec<RowOp>) {
        // Roles from the data: the first rows decide them, announced by a reset.
        if self.rust().role_list.is_empty() && self.rust().roles.is_empty() {
            let mut rows = self.rust().rows.clone();
            for op in ops {
                crate::rest::rows::apply(&mut rows, op);
            }
            return self.reset_with(rows);
        }
        let root = QModelIndex::default();
        for op in ops {
            match op {
                RowOp::Remove { row, count } => {
                    let (first, last) = (row as i32, (row + count - 1) as i32);
                    // SAFETY: begin/end are paired around the change they announce.
                    unsafe { self.as_mut().begin_remove_rows(&root, first, last) };
                    self.as_mut().rust_mut().rows.drain(row..row + count);
                    unsafe { self.as_mut().end_remove_rows() };
                }
                RowOp::Insert { row, rows } => {
                    if rows.is_empty() {
                        continue;
                    }
                    let (first, last) = (row as i32, (row + rows.len() - 1) as i32);
                    // SAFETY: as above.
                    unsafe { self.as_mut().begin_insert_rows(&root, first, last) };
                    self.as_mut().rust_mut().rows.splice(row..row, rows);
                    unsafe { self.as_mut().end_insert_rows() };
                }
                RowOp::Update { row, value } => {
                    self.as_mut().rust_mut().rows[row] = value;
                    let index = self.index(row as i32, 0, &root);
                    self.as_mut()
                        .data_changed(&index, &index, &QVector::<i32>::default());
                }
            }
        }
        self.update_count();
    }

    fn update_count(mut self: Pin<&mut Self>) {
        let count = i32::try_from(self.rust().rows.len()).unwrap_or(i32::MAX);
        if self.rust().count != count {
            self.as_mut().rust_mut().count = count;
            self.as_mut().count_changed();
        }
    }

    fn set_error_text(mut self: Pin<&mut Self>, text: String) {
        let text = QString::from(&text);
        if self.rust().error != text {
            self.as_mut().rust_mut().error = text;
            self.as_mut().error_changed();
        }
    }

    fn set_loading_flag(mut self: Pin<&mut Self>, loading: bool) {
        if self.rust().loading != loading {
            self.as_mut().rust_mut().loading = loading;
            self.as_mut().loading_changed();
        }
    }

    fn set_live_flag(mut self: Pin<&mut Self>, live: bool) {
        if self.rust().live != live {
            self.as_mut().rust_mut().live = live;
            self.as_mut().live_changed();
        }
    }

    fn with_sync(&self, what: &str, f: impl FnOnce(&ModelSync)) {
        match &self.rust().sync {
            Some(sync) => f(sync),
            None => tracing::warn!(target: TARGET, "RestModel.{what}: no resource is followed"),
        }
    }

    fn create(&self, object: &QVariant) {
        let value = ffi::to_json(object);
        if !value.is_object() {
            tracing::warn!(target: TARGET, "RestModel.create: expected an object");
            return;
        }
        self.with_sync("create", |s| s.create(value));
    }

    fn update(&self, id: i64, patch: &QVariant) {
        let value = ffi::to_json(patch);
        if !value.is_object() {
            tracing::warn!(target: TARGET, "RestModel.update: expected an object");
            return;
        }
        self.with_sync("update", |s| s.update(id, value));
    }

    fn remove(&self, id: i64) {
        self.with_sync("remove", |s| s.remove(id));
    }

    fn refresh(&self) {
        self.with_sync("refresh", ModelSync::refresh);
    }

    fn get(&self, row: i32) -> QVariant {
        let Some(row) = usize::try_from(row)
            .ok()
            .and_then(|r| self.rust().rows.get(r))
        else {
            return QVariant::default();
        };
        // The members as the backend sent them, plus the key under `keyRole`, as a delegate
        // sees it.
        let mut object = row.values.clone();
        object.insert(self.rust().key_role.to_string(), Value::from(row.id));
        ffi::from_json(&Value::Object(object))
    }

    fn data(&self, index: &QModelIndex, role: i32) -> QVariant {
        let Some(row) = usize::try_from(index.row())
            .ok()
            .and_then(|r| self.rust().rows.get(r))
        else {
            return QVariant::default();
        };
        if role == KEY_ROLE {
            return ffi::from_integer(row.id);
        }
        usize::try_from(role - KEY_ROLE - 1)
            .ok()
            .and_then(|i| self.rust().role_list.get(i))
            .and_then(|name| row.values.get(name))
            .map(ffi::from_json)
            .unwrap_or_default()
    }

    fn role_names(&self) -> QHash<QHashPair_i32_QByteArray> {
        let mut roles = QHash::<QHashPair_i32_QByteArray>::default();
        roles.insert(
            KEY_ROLE,
            QByteArray::from(&*self.rust().key_role.to_string()),
        );
        for (i, name) in self.rust().role_list.iter().enumerate() {
            roles.insert(KEY_ROLE + 1 + i as i32, QByteArray::from(name.as_str()));
        }
        roles
    }

    fn row_count(&self, _parent: &QModelIndex) -> i32 {
        i32::try_from(self.rust().rows.len()).unwrap_or(i32::MAX)
    }
}
