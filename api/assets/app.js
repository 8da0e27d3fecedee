// Signpost's enhancements. Every journey works without this script: it only adds the NHS.UK
// frontend's behaviour, search suggestions, copying the shortlist and a quicker exit.
import { initAll } from './nhsuk-frontend-10.6.1.min.js'

// The frontend's components start only on pages that say the browser supports them.
document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// Suggestions for the need text, from /suggest, as the browser's own list.
const text = document.querySelector('input[data-suggest]')
if (text) {
  const list = document.createElement('datalist')
  list.id = 'need-suggestions'
  text.after(list)
  text.setAttribute('list', list.id)
  let timer
  text.addEventListener('input', () => {
    clearTimeout(timer)
    const prefix = text.value.trim()
    if (prefix.length < 2) return
    timer = setTimeout(async () => {
      try {
        const reply = await fetch('/suggest?prefix=' + encodeURIComponent(prefix), {
          credentials: 'same-origin',
          headers: { accept: 'application/json' }
        })
        if (!reply.ok) return
        const words = await reply.json()
        list.replaceChildren(...words.map((word) => {
          const option = document.createElement('option')
          option.value = word
          return option
        }))
      } catch {
        // Suggestions are a nicety; typing carries on without them.
      }
    }, 200)
  })
}

// Copy the shortlist's plain text for case notes.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false
  button.addEventListener('click', async () => {
    const source = document.getElementById(button.dataset.copy)
    if (!source) return
    try {
      await navigator.clipboard.writeText(source.textContent)
      button.textContent = 'Copied'
    } catch {
      source.focus()
    }
  })
}

// Exit this page: leave at once, without this page in the history.
for (const link of document.querySelectorAll('a[data-exit]')) {
  link.addEventListener('click', (event) => {
    event.preventDefault()
    document.body.hidden = true
    window.location.replace(link.href)
  })
}

// Print button on the print view.
for (const button of document.querySelectorAll('button[data-print]')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
}
