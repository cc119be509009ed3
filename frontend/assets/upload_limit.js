// A file over a drop zone's size limit (an element with data-max-bytes around a dcc.Upload whose
// max_size drops it unread and unsent) gets a message in the zone's .upload-refused element.
(function () {
    function check(element, files) {
        const box = element.closest && element.closest("[data-max-bytes]");
        if (!box || !box.dataset.maxBytes) {
            return;
        }
        const max = Number(box.dataset.maxBytes);
        const note = box.querySelector(".upload-refused");
        const big = Array.from(files || []).find(function (f) { return f.size > max; });
        if (note) {
            note.textContent = big
                ? big.name + " is " + (big.size / 1e6).toFixed(1) + " MB, over the " +
                  box.dataset.limit + " upload limit: not sent."
                : "";
        }
    }
    document.addEventListener("change", function (e) {
        if (e.target.type === "file") {
            check(e.target, e.target.files);
        }
    }, true);
    document.addEventListener("drop", function (e) {
        if (e.dataTransfer) {
            check(e.target, e.dataTransfer.files);
        }
    }, true);
})();
