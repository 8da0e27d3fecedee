// Signpost's enhancements. Every journey works without this script: it only adds the NHS.UK
// frontend's behaviour, search suggestions, copying the shortlist and a quicker exit.
import { initAll } from './nhsuk-frontend-10.6.1.min.js'

// The frontend's components start only on pages that say the browser supports them.
document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// Suggestions for the need text, from /suggest, as the browser's own list: kinds of support
// and services. A service's name, once chosen, offers a link to its page.
const text = document.querySelector('input[data-suggest]')
if (text) {
  const list = document.createElement('datalist')
  list.id = 'need-suggestions'
  text.after(list)
  text.setAttribute('list', list.id)
  const go = document.createElement('p')
  go.className = 'nhsuk-body-s'
  go.setAttribute('aria-live', 'polite')
  list.after(go)
  let found = []
  let timer
  const offer = () => {
    const service = found.find((s) => s.href && s.text === text.value)
    if (!service) {
      go.replaceChildren()
      return
    }
    // The search's details go along, as the result cards' links carry them.
    const params = new URLSearchParams(window.location.search)
    params.delete('after')
    params.delete('page')
    const query = params.toString()
    const link = document.createElement('a')
    link.href = service.href + (query ? '?' + query : '')
    link.textContent = 'Go to ' + service.text
    go.replaceChildren(link)
  }
  text.addEventListener('input', () => {
    clearTimeout(timer)
    offer()
    const prefix = text.value.trim()
    if (prefix.length < 2) return
    timer = setTimeout(async () => {
      try {
        const reply = await fetch('/suggest?prefix=' + encodeURIComponent(prefix), {
          credentials: 'same-origin',
          headers: { accept: 'application/json' }
        })
        if (!reply.ok) return
        found = await reply.json()
        list.replaceChildren(...found.map((suggestion) => {
          const option = document.createElement('option')
          option.value = suggestion.text
          return option
        }))
        offer()
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
