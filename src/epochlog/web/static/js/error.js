// The error page: the message travels as data and is shown as text.
import { $ } from "./dom.js";
import { initialData } from "./api.js";

const data = initialData();
$("#error-title").textContent = `Error ${data.status || ""}`.trim();
$("#error-message").textContent = data.error || "Something went wrong.";
